package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import dev.jgpt.engine.tensor.MatrixOps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activations quantized to Q8_0 and multiplied by Q8_0 weights the way llama.cpp's x86 CPU backend does.
 *
 * <p>llama.cpp never multiplies Q8_0 weights by float activations: it first quantizes each activation row
 * to Q8_0 ({@code quantize_row_q8_0}), then takes integer dot products block by block. Both of its x86
 * kernels, {@code ggml_vec_dot_q8_0_q8_0} (one token) and llamafile's {@code tinyBLAS_Q0_AVX} (prompt
 * batches), share one arithmetic: for each 32-value block, 8 exact int32 lane sums (lane j sums the
 * products of bytes 4j..4j+3), converted to float and fused-multiply-added with {@code d_w * d_x} into 8
 * float accumulators, which a fixed tree adds up at the end. This class does exactly that, so the results
 * are bit-identical to llama.cpp's, and it stays SIMD-friendly: the integer work is one 8-lane int vector
 * per block.
 */
final class Q8_0Activations {
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 34;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Quantized values, split for the kernel: block b's byte 4j+k sits at {@code q[b*32 + k*8 + j]}, so
     * the k-th byte of every lane loads as one int vector.
     */
    private int[] q = new int[0];
    /** Each block's scale, already rounded to F16 as llama.cpp stores it. */
    private float[] d = new float[0];

    /** True if llama.cpp multiplies weights of this type with Q8_0 activations through these kernels. */
    static boolean handles(GgmlType weightType) {
        return weightType == GgmlType.Q8_0;
    }

    /**
     * Quantizes {@code len} floats (whole blocks) like the AVX build of {@code quantize_row_q8_0}: the
     * multiplier is {@code 127/amax} (not {@code 1/d}) and rounding is to nearest-even.
     */
    void quantize(float[] x, int len) {
        int blocks = len / BLOCK;
        if (q.length < len) {
            q = new int[len];
            d = new float[blocks];
        }
        for (int b = 0; b < blocks; b++) {
            int o = b * BLOCK;
            float amax = 0f;
            for (int i = 0; i < BLOCK; i++) {
                amax = Math.max(amax, Math.abs(x[o + i]));
            }
            d[b] = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            for (int i = 0; i < BLOCK; i++) {
                int v = (int) Math.rint(x[o + i] * id);
                q[o + (i & 3) * 8 + (i >> 2)] = v;
            }
        }
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]} for the {@code n} rows of {@code cols} values quantized last,
     * with W a Q8_0 matrix of {@code rows} rows.
     */
    void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
        MemorySegment seg = w.data();
        int blocks = cols / BLOCK;
        MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
            for (int r = from; r < to; r++) {
                long rowBase = (long) r * blocks * BLOCK_BYTES;
                for (int t = 0; t < n; t++) {
                    out[t * rows + r] = dotRow(seg, rowBase, t * blocks, blocks);
                }
            }
        });
    }

    private float dotRow(MemorySegment w, long rowBase, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        long base = rowBase;
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            IntVector wv = IntVector.fromMemorySegment(I8, w, base + 2, ByteOrder.LITTLE_ENDIAN);
            int qo = (firstBlock + b) * BLOCK;
            // byte k of each little-endian int lane, sign-extended: shift it to the top, then back down
            IntVector sum = wv.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .mul(IntVector.fromArray(I8, q, qo));
            for (int k = 1; k < 4; k++) {
                IntVector wk = wv.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 24);
                sum = sum.add(wk.mul(IntVector.fromArray(I8, q, qo + k * 8)));
            }
            float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            FloatVector lanes = (FloatVector) sum.convert(VectorOperators.I2F, 0);
            acc = lanes.fma(FloatVector.broadcast(F8, scale), acc);
        }
        return LlamaCppMath.hsum8(acc.lane(0), acc.lane(1), acc.lane(2), acc.lane(3),
                acc.lane(4), acc.lane(5), acc.lane(6), acc.lane(7));
    }
}
