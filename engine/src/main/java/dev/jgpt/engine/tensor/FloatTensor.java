package dev.jgpt.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A read-only tensor of any GGML type, seen as a flat sequence of floats. The forward pass only calls
 * {@link #dot}, {@link #getFloat} and {@link #dequantize}; each subclass knows its own block layout.
 * Offsets and lengths passed to {@code dot} and {@code dequantize} should be multiples of the type's
 * block size (rows of a weight matrix always are); other ranges work, through a slow element-wise path.
 *
 * <p>Each type has three implementations of the same arithmetic: {@link #getFloat} (one element, written
 * straight from the GGML format), {@link #dequantizeBlocks} (whole blocks, scales hoisted) and
 * {@link #dotBlocks} (the Vector API kernel working on the quantized bytes). Tests check them against each
 * other and against {@link #dotScalar}.
 */
public abstract sealed class FloatTensor
        permits F32Tensor, F16Tensor, BF16Tensor, Q8_0Tensor, Q4_0Tensor, Q4_1Tensor, Q5_0Tensor, Q5_1Tensor,
        Q2_KTensor, Q3_KTensor, Q4_KTensor, Q5_KTensor, Q6_KTensor {

    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    protected final MemorySegment data;
    protected final long size;

    protected FloatTensor(MemorySegment data, long size) {
        this.data = data;
        this.size = size;
    }

    /** Wraps {@code data} (exactly {@code type.byteSize(size)} bytes) as a tensor of {@code size} elements. */
    public static FloatTensor of(GgmlType type, MemorySegment data, long size) {
        long expected = type.byteSize(size);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(type + " tensor of " + size + " elements needs " + expected
                    + " bytes, got " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Tensor(data, size);
            case F16 -> new F16Tensor(data, size);
            case BF16 -> new BF16Tensor(data, size);
            case Q8_0 -> new Q8_0Tensor(data, size);
            case Q4_0 -> new Q4_0Tensor(data, size);
            case Q4_1 -> new Q4_1Tensor(data, size);
            case Q5_0 -> new Q5_0Tensor(data, size);
            case Q5_1 -> new Q5_1Tensor(data, size);
            case Q2_K -> new Q2_KTensor(data, size);
            case Q3_K -> new Q3_KTensor(data, size);
            case Q4_K -> new Q4_KTensor(data, size);
            case Q5_K -> new Q5_KTensor(data, size);
            case Q6_K -> new Q6_KTensor(data, size);
            default -> throw new UnsupportedTensorTypeException(type);
        };
    }

    public abstract GgmlType type();

    public final long size() {
        return size;
    }

    public final MemorySegment data() {
        return data;
    }

    /** One element, dequantized. Slow: for tests and odd accesses, never for hot loops. */
    public abstract float getFloat(long index);

    /**
     * Dot product of elements {@code [offset, offset + n)} with {@code x[xOffset .. xOffset + n)}, computed
     * by the type's Vector API kernel when the range is whole blocks and the CPU's vectors suit the kernels.
     */
    public final float dot(long offset, float[] x, int xOffset, int n) {
        int bs = type().blockSize();
        if (Simd.ENABLED && offset % bs == 0 && n % bs == 0) {
            return dotBlocks(offset / bs, n / bs, x, xOffset);
        }
        return dotScalar(offset, x, xOffset, n);
    }

    /**
     * The scalar reference of {@link #dot}: dequantizes one block at a time and multiplies, accumulating in
     * double so that it is a better answer than any float kernel it is compared with.
     */
    public final float dotScalar(long offset, float[] x, int xOffset, int n) {
        int bs = type().blockSize();
        if (offset % bs != 0 || n % bs != 0) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += (double) getFloat(offset + i) * x[xOffset + i];
            }
            return (float) sum;
        }
        float[] block = new float[bs];
        long firstBlock = offset / bs;
        double sum = 0;
        for (int b = 0; b < n / bs; b++) {
            dequantizeBlocks(firstBlock + b, 1, block, 0);
            for (int i = 0; i < bs; i++) {
                sum += (double) block[i] * x[xOffset + b * bs + i];
            }
        }
        return (float) sum;
    }

    /** Dequantizes elements {@code [offset, offset + n)} into {@code out[outOffset ..]}. */
    public final void dequantize(long offset, float[] out, int outOffset, int n) {
        int bs = type().blockSize();
        int i = 0;
        // A range that does not start or end on a block boundary is finished element by element.
        while (i < n && (offset + i) % bs != 0) {
            out[outOffset + i] = getFloat(offset + i);
            i++;
        }
        int blocks = (n - i) / bs;
        if (blocks > 0) {
            dequantizeBlocks((offset + i) / bs, blocks, out, outOffset + i);
            i += blocks * bs;
        }
        for (; i < n; i++) {
            out[outOffset + i] = getFloat(offset + i);
        }
    }

    /** Dequantizes {@code nBlocks} whole blocks starting at block {@code firstBlock}. */
    abstract void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset);

    /** The Vector API dot product over whole blocks; only called when {@link Simd#ENABLED}. */
    abstract float dotBlocks(long firstBlock, int nBlocks, float[] x, int xOffset);

    static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }
}
