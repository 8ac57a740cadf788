package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activations quantized to Q8_0 and multiplied by Q4_0 weights the way llama.cpp's x86 CPU backend does.
 *
 * <p>On CPUs with AVX2, llama.cpp repacks Q4_0 matrices whose row count is a multiple of 8 into 8-row
 * groups ({@code block_q4_0x8}) and multiplies them with activations quantized to Q8_0 through
 * {@code ggml_gemv_q4_0_8x8_q8_0} (single tokens) and {@code ggml_gemm_q4_0_8x8_q8_0} (groups of four
 * tokens). Both, with AVX2 as with AVX-512, form per output and 32-value block the exact integer sum of
 * {@code (q_w - 8) * q_x} and fuse-multiply-add it, converted to float, with {@code d_w * d_x} into one
 * float accumulator, block after block. This class does exactly that, so the results are bit-identical
 * to llama.cpp's whatever the vector width here (multiplying float activations rounded to Q8_0 and adding
 * in lane order had left the random-weight test models up to 0.19 off llama.cpp's log-probabilities with
 * 8 float lanes, over the 0.15 tolerance for 4-bit models).
 *
 * <p>Each block's integer sum is formed in 8 float lanes: every product of a nibble (0..15) and an int8
 * value, and every sum of up to 32 of them, is an integer below 2^24, exact in float in any order; the
 * weights' offset of 8 comes off as {@code 8 * sum(q_x)}, computed once per activation block.
 */
final class Q4_0Activations {
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Whether the Vector API kernel runs here ({@link VectorWidth}: at least 256-bit vectors). */
    static final boolean SIMD = VectorWidth.BITS >= 256;
    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 18;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final boolean simd;
    /** Quantized values in [-127, 127] as floats, in their natural order. */
    private float[] x = new float[0];
    /** Each block's scale, already rounded to F16 as llama.cpp stores it. */
    private float[] d = new float[0];
    /** Each block's {@code 8 * sum(q_x)}: the weights' offset of 8 times the activations. */
    private float[] offsets = new float[0];

    Q4_0Activations() {
        this(SIMD);
    }

    /** Activations for the Vector API kernel ({@code simd}) or the scalar one; both give the same bits. */
    Q4_0Activations(boolean simd) {
        this.simd = simd;
    }

    /**
     * True if llama.cpp multiplies a matrix of this type and row count through the repacked kernels
     * reproduced here (Q4_0 is repacked only when its rows fill groups of 8).
     */
    static boolean handles(GgmlType weightType, int rows) {
        return weightType == GgmlType.Q4_0 && rows % 8 == 0;
    }

    /**
     * Quantizes {@code len} floats (whole blocks) like the AVX build of {@code quantize_row_q8_0} (and
     * {@code ggml_quantize_mat_q8_0_4x8}, which rounds the same): scale {@code amax/127} stored as F16,
     * values {@code rint(x * 127/amax)}.
     */
    void quantize(float[] src, int len) {
        int blocks = len / BLOCK;
        if (d.length < blocks) {
            d = new float[blocks];
            offsets = new float[blocks];
            x = new float[len];
        }
        for (int b = 0; b < blocks; b++) {
            int o = b * BLOCK;
            float amax = 0f;
            for (int i = 0; i < BLOCK; i++) {
                amax = Math.max(amax, Math.abs(src[o + i]));
            }
            d[b] = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            int sum = 0;
            for (int i = 0; i < BLOCK; i++) {
                float v = (float) Math.rint(src[o + i] * id);
                x[o + i] = v;
                sum += (int) v;
            }
            offsets[b] = 8 * sum;
        }
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]} for the {@code n} rows of {@code cols} values quantized last,
     * with W a Q4_0 matrix of {@code rows} rows.
     */
    void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
        MemorySegment seg = w.data();
        int blocks = cols / BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
            // a row's weights stay in L1 across the tokens
            for (int r = from; r < to; r++) {
                for (int t = 0; t < n; t++) {
                    out[t * rows + r] = simd ? dotRow(seg, r * rowBytes, t * blocks, blocks)
                            : dotRowScalar(seg, r * rowBytes, t * blocks, blocks);
                }
            }
        });
    }

    /**
     * One row and token: per block, the nibbles of bytes 0-7 (values 0-7 and 16-23) and 8-15 (values 8-15
     * and 24-31) converted to float and multiplied with the activations in 8 lanes, the lanes added up
     * (an exact integer), the offset taken off, then llama.cpp's one fused multiply-add.
     */
    private float dotRow(MemorySegment w, long base, int firstBlock, int blocks) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            int xb = firstBlock + b;
            int xo = xb * BLOCK;
            ByteVector p0 = ByteVector.fromMemorySegment(B8, w, base + 2, ByteOrder.LITTLE_ENDIAN);
            ByteVector p1 = ByteVector.fromMemorySegment(B8, w, base + 10, ByteOrder.LITTLE_ENDIAN);
            FloatVector lo0 = (FloatVector) p0.and((byte) 0x0F).convertShape(VectorOperators.B2F, F8, 0);
            FloatVector lo1 = (FloatVector) p1.and((byte) 0x0F).convertShape(VectorOperators.B2F, F8, 0);
            FloatVector hi0 = (FloatVector) p0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F8, 0);
            FloatVector hi1 = (FloatVector) p1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F8, 0);
            FloatVector s0 = lo0.mul(FloatVector.fromArray(F8, x, xo));
            FloatVector s1 = lo1.mul(FloatVector.fromArray(F8, x, xo + 8));
            s0 = hi0.fma(FloatVector.fromArray(F8, x, xo + 16), s0);
            s1 = hi1.fma(FloatVector.fromArray(F8, x, xo + 24), s1);
            float sum = s0.add(s1).reduceLanes(VectorOperators.ADD) - offsets[xb];
            acc = Math.fma(sum, Float.float16ToFloat(w.get(SHORT_LE, base)) * d[xb], acc);
        }
        return acc;
    }

    /** {@link #dotRow} one value at a time ({@code -Djgpt.simd=false}, CPUs without 256-bit vectors). */
    private float dotRowScalar(MemorySegment w, long base, int firstBlock, int blocks) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            int xb = firstBlock + b;
            int xo = xb * BLOCK;
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + 2 + j) & 0xFF;
                sum += ((packed & 0xF) - 8) * (int) x[xo + j] + ((packed >>> 4) - 8) * (int) x[xo + j + 16];
            }
            acc = Math.fma((float) sum, Float.float16ToFloat(w.get(SHORT_LE, base)) * d[xb], acc);
        }
        return acc;
    }
}
