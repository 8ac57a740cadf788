package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activations quantized to Q8_K and multiplied by Q4_K and Q6_K weights the way llama.cpp's x86 CPU
 * backend does.
 *
 * <p>llama.cpp multiplies K-quant weights by activations quantized to Q8_K ({@code quantize_row_q8_K}:
 * 256-value blocks, float scale {@code max/-127}, sums of each 16 values); the 4-row interleaved variant
 * {@code ggml_quantize_mat_q8_K_4x8} used for prompt batches rounds to the same values. The products are
 * then exact integer sums, and only the float accumulation around them decides the last bits, which the
 * random-weight test models amplify (see {@link Q8_0Activations}). So each kernel's order is reproduced:
 *
 * <ul>
 *   <li>Q6_K: {@code ggml_vec_dot_q6_K_q8_K} (AVX2 path, also taken by the AVX-512 builds), for one token
 *       and batches alike. Per 256-value super-block, 8 int32 lanes: lane L holds, for each 32-value chunk
 *       C, the unsigned 6-bit weights (0..63) times the activations at 32C+4L..32C+4L+3 scaled by sub-block
 *       scale {@code 2C + L/4}, minus {@code 32 * (bsums[2L]*sc[2L] + bsums[2L+1]*sc[2L+1])} (the weights'
 *       -32 offset); each lane is converted to float and fused-multiply-added with {@code d_x * d_w} into
 *       8 float accumulators, added up by {@code hsum_float_8}.
 *   <li>Q4_K: llama.cpp repacks these weights into 8-row groups ({@code block_q4_Kx8}) and runs
 *       {@code ggml_gemm_q4_K_8x8_q8_K} for tokens in whole groups of four (when a batch has more than
 *       three) and {@code ggml_gemv_q4_K_8x8_q8_K} for the rest. Every output is one lane with two float
 *       accumulators: integer sums of scale times weights times activations, fused-multiply-added with
 *       {@code d_w * d_x}, and of min times the activations' 32-value sums, with {@code dmin_w * d_x};
 *       the result is their difference. The gemv adds once per super-block, the gemm (AVX-512 and AVX2
 *       alike) once per pair of 32-value sub-blocks.
 * </ul>
 */
final class Q8_KActivations {
    private static final int BLOCK = 256;
    private static final int Q6_K_BYTES = 210;
    private static final int Q4_K_BYTES = 144;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Quantized values, in order. */
    private byte[] q = new byte[0];
    /** Each block's scale (float, as llama.cpp stores it). */
    private float[] d = new float[0];
    /** Sums of each 16 quantized values. */
    private int[] bsums = new int[0];

    /**
     * True if llama.cpp multiplies a matrix of this type and row count with Q8_K activations through the
     * kernels reproduced here (Q4_K is repacked only when its rows fill groups of 8; otherwise llama.cpp
     * would use {@code ggml_vec_dot_q4_K_q8_K}, which this class does not reproduce).
     */
    static boolean handles(GgmlType weightType, int rows) {
        // llama.cpp repacks Q4_K into 8-row groups only when the row count allows it
        return weightType == GgmlType.Q6_K || (weightType == GgmlType.Q4_K && rows % 8 == 0);
    }

    /** Quantizes {@code len} floats (whole blocks) exactly like {@code quantize_row_q8_K_ref}. */
    void quantize(float[] x, int len) {
        int blocks = len / BLOCK;
        if (q.length < len) {
            q = new byte[len];
            d = new float[blocks];
            bsums = new int[blocks * 16];
        }
        for (int b = 0; b < blocks; b++) {
            int o = b * BLOCK;
            float amax = 0f;
            float max = 0f;
            for (int i = 0; i < BLOCK; i++) {
                float ax = Math.abs(x[o + i]);
                if (ax > amax) {
                    amax = ax;
                    max = x[o + i];
                }
            }
            if (amax == 0f) {
                d[b] = 0f;
                java.util.Arrays.fill(q, o, o + BLOCK, (byte) 0);
                java.util.Arrays.fill(bsums, b * 16, b * 16 + 16, 0);
                continue;
            }
            float iscale = -127f / max;
            for (int i = 0; i < BLOCK; i++) {
                q[o + i] = (byte) Math.min(127, (int) Math.rint(iscale * x[o + i]));
            }
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) {
                    sum += q[o + j * 16 + i];
                }
                bsums[b * 16 + j] = sum;
            }
            d[b] = 1f / iscale;
        }
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]} for the {@code n} rows of {@code cols} values quantized last,
     * with W a Q6_K matrix of {@code rows} rows.
     */
    void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
        MemorySegment seg = w.data();
        int blocks = cols / BLOCK;
        if (w.type() == GgmlType.Q4_K) {
            // tokens in whole groups of four go through the gemm kernel (when there are more than three),
            // the rest through the gemv kernel
            int gemmTokens = n > 3 ? n - n % 4 : 0;
            MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
                for (int r = from; r < to; r++) {
                    long rowBase = (long) r * blocks * Q4_K_BYTES;
                    for (int t = 0; t < n; t++) {
                        out[t * rows + r] = dotQ4K(seg, rowBase, t * blocks, blocks, t < gemmTokens);
                    }
                }
            });
            return;
        }
        MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
            for (int r = from; r < to; r++) {
                long rowBase = (long) r * blocks * Q6_K_BYTES;
                for (int t = 0; t < n; t++) {
                    out[t * rows + r] = dotQ6K(seg, rowBase, t * blocks, blocks);
                }
            }
        });
    }

    private float dotQ6K(MemorySegment w, long rowBase, int firstBlock, int blocks) {
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
        long base = rowBase;
        for (int b = 0; b < blocks; b++, base += Q6_K_BYTES) {
            int xb = firstBlock + b;
            int qo = xb * BLOCK;
            // block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16)
            long ql = base;
            long qh = base + 128;
            long sc = base + 192;
            float dd = d[xb] * Float.float16ToFloat(w.get(SHORT_LE, base + 208));
            int l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
            for (int chunk = 0; chunk < 8; chunk++) {
                int j = chunk >> 2;
                int c = chunk & 3;
                int scLo = w.get(ValueLayout.JAVA_BYTE, sc + 2 * chunk);
                int scHi = w.get(ValueLayout.JAVA_BYTE, sc + 2 * chunk + 1);
                long lBase = ql + 64L * j + ((c & 1) << 5);
                long hBase = qh + 32L * j;
                int lowShift = (c >> 1) << 2;   // chunks 2, 3 take the high nibbles
                int highShift = c << 1;         // bits 2c..2c+1 of qh
                int xo = qo + 32 * chunk;
                for (int lane = 0; lane < 8; lane++) {
                    int s = 0;
                    for (int k = 0; k < 4; k++) {
                        int i = 4 * lane + k;
                        int lo = (w.get(ValueLayout.JAVA_BYTE, lBase + i) >> lowShift) & 15;
                        int hi = (w.get(ValueLayout.JAVA_BYTE, hBase + i) >> highShift) & 3;
                        s += (lo | (hi << 4)) * q[xo + i];
                    }
                    s *= lane < 4 ? scLo : scHi;
                    switch (lane) {
                        case 0 -> l0 += s;
                        case 1 -> l1 += s;
                        case 2 -> l2 += s;
                        case 3 -> l3 += s;
                        case 4 -> l4 += s;
                        case 5 -> l5 += s;
                        case 6 -> l6 += s;
                        default -> l7 += s;
                    }
                }
            }
            int bs = xb * 16;
            l0 -= sub(w, sc, bs, 0);
            l1 -= sub(w, sc, bs, 1);
            l2 -= sub(w, sc, bs, 2);
            l3 -= sub(w, sc, bs, 3);
            l4 -= sub(w, sc, bs, 4);
            l5 -= sub(w, sc, bs, 5);
            l6 -= sub(w, sc, bs, 6);
            l7 -= sub(w, sc, bs, 7);
            a0 = Math.fma(dd, (float) l0, a0);
            a1 = Math.fma(dd, (float) l1, a1);
            a2 = Math.fma(dd, (float) l2, a2);
            a3 = Math.fma(dd, (float) l3, a3);
            a4 = Math.fma(dd, (float) l4, a4);
            a5 = Math.fma(dd, (float) l5, a5);
            a6 = Math.fma(dd, (float) l6, a6);
            a7 = Math.fma(dd, (float) l7, a7);
        }
        return LlamaCppMath.hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
    }

    /**
     * One row of Q4_K weights times one quantized token, as {@code ggml_gemv_q4_K_8x8_q8_K} (one float
     * fused multiply-add per 256-value super-block) or {@code ggml_gemm_q4_K_8x8_q8_K} (one per pair of
     * 32-value sub-blocks) compute it for their row's lane: exact integer sums of scale times the 4-bit
     * values times the activations, and of min times the activations' 32-value sums, accumulated
     * separately in float and subtracted at the end.
     */
    private float dotQ4K(MemorySegment w, long rowBase, int firstBlock, int blocks, boolean gemm) {
        float acc = 0f;
        float accMin = 0f;
        long base = rowBase;
        for (int b = 0; b < blocks; b++, base += Q4_K_BYTES) {
            int xb = firstBlock + b;
            int qo = xb * BLOCK;
            // block_q4_K: d (f16), dmin (f16), scales[12] (6-bit scales and mins), qs[128]
            float dx = d[xb];
            float dScale = Float.float16ToFloat(w.get(SHORT_LE, base)) * dx;
            float minScale = Float.float16ToFloat(w.get(SHORT_LE, base + 2)) * dx;
            long sc = base + 4;
            long qs = base + 16;
            int blockSum = 0;
            int blockMin = 0;
            for (int pair = 0; pair < 4; pair++) {
                int pairSum = 0;
                int pairMin = 0;
                for (int h = 0; h < 2; h++) {
                    int sub = 2 * pair + h;
                    int scale;
                    int min;
                    if (sub < 4) {
                        scale = w.get(ValueLayout.JAVA_BYTE, sc + sub) & 63;
                        min = w.get(ValueLayout.JAVA_BYTE, sc + sub + 4) & 63;
                    } else {
                        int qj4 = w.get(ValueLayout.JAVA_BYTE, sc + sub + 4) & 0xFF;
                        scale = (qj4 & 0xF) | (((w.get(ValueLayout.JAVA_BYTE, sc + sub - 4) & 0xFF) >> 6) << 4);
                        min = (qj4 >> 4) | (((w.get(ValueLayout.JAVA_BYTE, sc + sub) & 0xFF) >> 6) << 4);
                    }
                    int shift = 4 * h;
                    long qb = qs + 32L * pair;
                    int xo = qo + 32 * sub;
                    int dot = 0;
                    for (int i = 0; i < 32; i++) {
                        dot += ((w.get(ValueLayout.JAVA_BYTE, qb + i) >> shift) & 15) * q[xo + i];
                    }
                    int bs = xb * 16 + 2 * sub;
                    pairSum += scale * dot;
                    pairMin += min * (bsums[bs] + bsums[bs + 1]);
                }
                if (gemm) {
                    acc = Math.fma((float) pairSum, dScale, acc);
                    accMin = Math.fma((float) pairMin, minScale, accMin);
                } else {
                    blockSum += pairSum;
                    blockMin += pairMin;
                }
            }
            if (!gemm) {
                acc = Math.fma((float) blockSum, dScale, acc);
                accMin = Math.fma((float) blockMin, minScale, accMin);
            }
        }
        return acc - accMin;
    }

    /** Lane {@code lane}'s share of the -32 offset: {@code 32 * (bsums[2L]*sc[2L] + bsums[2L+1]*sc[2L+1])}. */
    private int sub(MemorySegment w, long sc, int bs, int lane) {
        int s0 = w.get(ValueLayout.JAVA_BYTE, sc + 2 * lane);
        int s1 = w.get(ValueLayout.JAVA_BYTE, sc + 2 * lane + 1);
        return (bsums[bs + 2 * lane] * s0 + bsums[bs + 2 * lane + 1] * s1) << 5;
    }
}
