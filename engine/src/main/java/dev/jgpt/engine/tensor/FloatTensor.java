package dev.jgpt.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A read-only tensor of any GGML type, seen as a flat sequence of floats. The forward pass only calls
 * {@link #dot}, {@link #getFloat} and {@link #dequantize}; each subclass knows its own block layout.
 * Offsets and lengths passed to {@code dot} and {@code dequantize} are in elements and must be
 * multiples of the type's block size (rows of a weight matrix always are).
 */
public abstract sealed class FloatTensor
        permits F32Tensor, F16Tensor, Q8_0Tensor {

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
            case Q8_0 -> new Q8_0Tensor(data, size);
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

    /** Dot product of elements {@code [offset, offset + n)} with {@code x[xOffset .. xOffset + n)}. */
    public float dot(long offset, float[] x, int xOffset, int n) {
        return dotScalar(offset, x, xOffset, n);
    }

    /** The scalar reference of {@link #dot}: the SIMD version is tested against it. */
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += getFloat(offset + i) * x[xOffset + i];
        }
        return sum;
    }

    /** Dequantizes elements {@code [offset, offset + n)} into {@code out[outOffset ..]}. */
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = getFloat(offset + i);
        }
    }

    static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }
}
