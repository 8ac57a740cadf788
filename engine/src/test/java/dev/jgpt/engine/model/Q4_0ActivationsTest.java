package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Q4_0 x Q8_0 kernels against a plain scalar rendering of llama.cpp's repacked arithmetic
 * ({@code ggml_gemv_q4_0_8x8_q8_0} / {@code ggml_gemm_q4_0_8x8_q8_0}), bit for bit: per output and block,
 * the exact integer sum of {@code (q_w - 8) * q_x} fused-multiply-added with {@code d_w * d_x} into one
 * float accumulator.
 */
class Q4_0ActivationsTest {
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Raw Q4_0 blocks: random F16 scales and random bytes (every nibble value). */
    private static MemorySegment randomWeights(Random random, int rows, int cols) {
        int blocks = rows * cols / 32;
        // one byte past an aligned address, like tensors inside a mapped GGUF file
        MemorySegment seg = Arena.ofAuto().allocate(blocks * 18L + 1, 64).asSlice(1, blocks * 18L);
        for (int b = 0; b < blocks; b++) {
            seg.set(SHORT_LE, b * 18L, Float.floatToFloat16((float) random.nextGaussian() * 0.01f));
            for (int i = 0; i < 16; i++) {
                seg.set(ValueLayout.JAVA_BYTE, b * 18L + 2 + i, (byte) random.nextInt(256));
            }
        }
        return seg;
    }

    private static float referenceDot(MemorySegment w, int row, int blocks, float[] x, int firstBlock) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++) {
            // quantize_row_q8_0 (AVX build) of the activation block
            int o = (firstBlock + b) * 32;
            float amax = 0f;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[o + i]));
            }
            float dx = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            long base = ((long) row * blocks + b) * 18;
            int sum = 0;
            for (int i = 0; i < 32; i++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + 2 + (i & 15)) & 0xFF;
                int q = (i < 16 ? packed & 0xF : packed >>> 4) - 8;
                sum += q * (int) Math.rint(x[o + i] * id);
            }
            float dw = Float.float16ToFloat(w.get(SHORT_LE, base));
            acc = Math.fma((float) sum, dw * dx, acc);
        }
        return acc;
    }

    private static void assertBitIdentical(Random random, int rows, int cols, int n, boolean simd) {
        MemorySegment seg = randomWeights(random, rows, cols);
        FloatTensor w = FloatTensor.of(GgmlType.Q4_0, seg, (long) rows * cols);
        // awkward blocks too: all zero, one dominant value, exact halves to round
        float[] x = Q8_0ActivationsTest.randomActivations(random, n * cols);
        Q4_0Activations activations = new Q4_0Activations(simd);
        activations.quantize(x, n * cols);
        float[] out = new float[n * rows];
        activations.matmul(w, n, out, rows, cols);
        int blocks = cols / 32;
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                float expected = referenceDot(seg, r, blocks, x, t * blocks);
                float actual = out[t * rows + r];
                if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
                    fail((simd ? "simd " : "scalar ") + rows + "x" + cols + " n=" + n + " token " + t + " row " + r
                            + ": expected " + expected + ", got " + actual);
                }
            }
        }
    }

    @Test
    void matchesScalarArithmeticBitForBit() {
        Random random = new Random(5);
        for (boolean simd : new boolean[] {true, false}) {
            for (int n = 1; n <= 6; n++) {
                assertBitIdentical(random, 8, 96, n, simd);
                assertBitIdentical(random, 40, 128, n, simd);
            }
            // large enough to be split across the pool's threads
            assertBitIdentical(random, 296, 512, 3, simd);
            assertBitIdentical(random, 1000, 256, 1, simd);
        }
    }

    @Test
    void takesRepackableMatricesOnly() {
        // llama.cpp repacks Q4_0 only in whole groups of 8 rows; other matrices keep its vec_dot kernel
        assertTrue(Q4_0Activations.handles(GgmlType.Q4_0, 4096));
        assertFalse(Q4_0Activations.handles(GgmlType.Q4_0, 4100));
        assertFalse(Q4_0Activations.handles(GgmlType.Q8_0, 4096));
    }
}
