package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The SIMD Q8_0 x Q8_0 kernels against a plain scalar rendering of llama.cpp's arithmetic, bit for bit:
 * per block, 8 int lane sums of 4 byte products each, converted to float and fused-multiply-added with
 * {@code d_w * d_x} into 8 accumulators, summed by {@link LlamaCppMath#hsum8}.
 */
class Q8_0ActivationsTest {
    /**
     * The kernel sets, by the vector bits they may use: all (512), the short-product kernels (256, CPUs with
     * AVX2 only), the narrow float kernel.
     */
    private static final int[] KERNEL_BITS = {512, 256, 128};
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Raw Q8_0 blocks: random F16 scales and random bytes over the whole int8 range, including -128. */
    private static MemorySegment randomWeights(Random random, int rows, int cols) {
        int blocks = rows * cols / 32;
        // one byte past an aligned address, like tensors inside a mapped GGUF file
        MemorySegment seg = Arena.ofAuto().allocate(blocks * 34L + 1, 64).asSlice(1, blocks * 34L);
        for (int b = 0; b < blocks; b++) {
            seg.set(SHORT_LE, b * 34L, Float.floatToFloat16((float) random.nextGaussian() * 0.01f));
            for (int i = 0; i < 32; i++) {
                seg.set(ValueLayout.JAVA_BYTE, b * 34L + 2 + i, (byte) random.nextInt(256));
            }
        }
        return seg;
    }

    /** Activations with the awkward blocks too: all zero, one dominant value, exact halves to round. */
    static float[] randomActivations(Random random, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) {
            x[i] = (float) random.nextGaussian() * (1 + random.nextInt(4));
        }
        if (len >= 96) {
            java.util.Arrays.fill(x, 0, 32, 0f);
            x[40] = 1000f;
            for (int i = 64; i < 96; i++) {
                x[i] = (i - 80) * 0.5f;
            }
        }
        return x;
    }

    /** llama.cpp's quantize_row_q8_0 (AVX build) in scalar form: int8 values and F16-rounded scales. */
    private static void referenceQuantize(float[] x, int len, byte[] qs, float[] ds) {
        for (int b = 0; b < len / 32; b++) {
            float amax = 0f;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[b * 32 + i]));
            }
            ds[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            for (int i = 0; i < 32; i++) {
                qs[b * 32 + i] = (byte) Math.rint(x[b * 32 + i] * id);
            }
        }
    }

    private static float referenceDot(MemorySegment w, int row, int blocks, byte[] qs, float[] ds, int firstBlock) {
        float[] acc = new float[8];
        for (int b = 0; b < blocks; b++) {
            long base = ((long) row * blocks + b) * 34;
            float dw = Float.float16ToFloat(w.get(SHORT_LE, base));
            float scale = dw * ds[firstBlock + b];
            for (int j = 0; j < 8; j++) {
                int sum = 0;
                for (int k = 0; k < 4; k++) {
                    int i = 4 * j + k;
                    sum += w.get(ValueLayout.JAVA_BYTE, base + 2 + i) * qs[(firstBlock + b) * 32 + i];
                }
                acc[j] = Math.fma((float) sum, scale, acc[j]);
            }
        }
        return LlamaCppMath.hsum8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);
    }

    private static void assertBitIdentical(Random random, int rows, int cols, int n) {
        for (int bits : KERNEL_BITS) {
            assertBitIdentical(random, rows, cols, n, bits);
        }
    }

    private static void assertBitIdentical(Random random, int rows, int cols, int n, int bits) {
        MemorySegment seg = randomWeights(random, rows, cols);
        FloatTensor w = FloatTensor.of(GgmlType.Q8_0, seg, (long) rows * cols);
        float[] x = randomActivations(random, n * cols);
        Q8_0Activations activations = new Q8_0Activations(bits);
        // loading rows ahead (for weights streamed from DRAM) must change nothing, nor read past the tensor
        activations.lookAhead = (rows + n) % 2 == 1;
        // and streamed weights go one row at a time on some CPUs: both ways, whatever this machine is
        activations.oneRowStreams = (rows + n) % 4 < 2;
        // and short rows in the caches go block by block across 64-row groups on some CPUs
        activations.shortRowGroups = (rows + n) % 3 != 0;
        activations.quantize(x, n * cols);
        float[] out = new float[n * rows];
        activations.matmul(w, n, out, rows, cols);

        byte[] qs = new byte[n * cols];
        float[] ds = new float[n * cols / 32];
        referenceQuantize(x, n * cols, qs, ds);
        int blocks = cols / 32;
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                float expected = referenceDot(seg, r, blocks, qs, ds, t * blocks);
                float actual = out[t * rows + r];
                if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
                    fail(bits + " bits " + rows + "x" + cols + " n=" + n + " token " + t + " row " + r + ": expected " + expected
                            + ", got " + actual);
                }
            }
        }
    }

    @Test
    void matchesScalarArithmeticBitForBit() {
        Random random = new Random(11);
        // single tokens 4 rows at a time, 4 tokens at a time from 4 tokens on (the rest 4 rows at a time),
        // 8 at a time from 8 on, the batch kernel from 16 on
        for (int n = 1; n <= 17; n++) {
            for (int rows : new int[] {1, 3, 5, 7, 37}) {
                // an odd number of blocks, and an even one (two blocks at a time in the wide kernels)
                assertBitIdentical(random, rows, 96, n);
                assertBitIdentical(random, rows, 128, n);
            }
            // large enough to be split across the pool's threads, with a row count no tile divides
            assertBitIdentical(random, 301, 512, n);
        }
        assertBitIdentical(random, 1001, 256, 1);
        // rows of more than 32 blocks: the batch kernel's tiles go 16 blocks at a time (here 16 + 16 + 1), in
        // groups of 8 rows, with rows past the last whole tile and an odd last token
        for (int n : new int[] {16, 17, 35}) {
            for (int rows : new int[] {3, 37, 64}) {
                assertBitIdentical(random, rows, 1056, n);
            }
        }
    }

    @Test
    void extremeBlocksStayExact() {
        // the single-token kernels add two products in a short: -128 x +-127 twice is its largest sum
        for (int cols : new int[] {256, 2080}) {
            for (int n = 1; n <= 5; n++) {
                int rows = 67;
                MemorySegment seg = Arena.ofAuto().allocate(rows * cols / 32 * 34L, 64);
                for (long base = 0; base < seg.byteSize(); base += 34) {
                    seg.set(SHORT_LE, base, Float.floatToFloat16(0.5f));
                    for (int i = 0; i < 32; i++) {
                        byte v = (byte) (base % 68 == 0 || i % 3 == 0 ? -128 : 127);
                        seg.set(ValueLayout.JAVA_BYTE, base + 2 + i, v);
                    }
                }
                float[] x = new float[n * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = i % 64 < 32 ? -3f : (i % 5 == 0 ? 2f : -2f);
                }
                for (int bits : KERNEL_BITS) {
                    Q8_0Activations activations = new Q8_0Activations(bits);
                    activations.quantize(x, n * cols);
                    float[] out = new float[n * rows];
                    activations.matmul(FloatTensor.of(GgmlType.Q8_0, seg, (long) rows * cols), n, out, rows, cols);
                    byte[] qs = new byte[n * cols];
                    float[] ds = new float[n * cols / 32];
                    referenceQuantize(x, n * cols, qs, ds);
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(referenceDot(seg, r, cols / 32, qs, ds, t * cols / 32), out[t * rows + r], 0f,
                                    bits + " bits, " + cols + " cols, n=" + n + ", token " + t + ", row " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void promptBatchesMatchAcrossRowGroupBoundaries() {
        // the batch kernel (from 16 tokens on) converts groups of 4096 / (2 * cols) rows: 3 rows per group
        // here (a 2-row tile and a single row), then 1 (cols > 2048); 16 to 19 tokens take two-pair tiles, a
        // lone pair and a pair missing its second token
        Random random = new Random(13);
        for (int cols : new int[] {672, 2080}) {
            for (int n = 16; n <= 19; n++) {
                assertBitIdentical(random, 5, cols, n);
            }
        }
    }

    @Test
    void batchesFollowTheLatestQuantizationAndServeSeveralProducts() {
        // the token-pair layout (the batch kernel's, 16 tokens or more, and dotEightTokens') and the block-pair
        // layout (up to 15 tokens) are built once per quantization, for every product made of it
        Random random = new Random(14);
        for (int bits : KERNEL_BITS) {
            for (int n : new int[] {17, 6, 9}) {
                Q8_0Activations activations = new Q8_0Activations(bits);
                int cols = 64;
                MemorySegment first = randomWeights(random, 9, cols);
                MemorySegment second = randomWeights(random, 5, cols);
                float[] out = new float[n * 9];
                activations.quantize(randomActivations(random, n * cols), n * cols);
                activations.matmul(FloatTensor.of(GgmlType.Q8_0, first, 9 * cols), n, out, 9, cols);
                float[] x = randomActivations(random, n * cols);
                activations.quantize(x, n * cols);
                byte[] qs = new byte[n * cols];
                float[] ds = new float[n * cols / 32];
                referenceQuantize(x, n * cols, qs, ds);
                for (MemorySegment seg : new MemorySegment[] {first, second}) {
                    int rows = (int) (seg.byteSize() / 34 / 2);
                    activations.matmul(FloatTensor.of(GgmlType.Q8_0, seg, (long) rows * cols), n, out, rows, cols);
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(referenceDot(seg, r, 2, qs, ds, t * 2), out[t * rows + r], 0f,
                                    bits + " bits, n=" + n + " token " + t + " row " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void reusedInstanceFollowsTheLatestQuantization() {
        Random random = new Random(12);
        for (int bits : KERNEL_BITS) {
            Q8_0Activations activations = new Q8_0Activations(bits);
            MemorySegment seg = randomWeights(random, 9, 64);
            FloatTensor w = FloatTensor.of(GgmlType.Q8_0, seg, 9 * 64);
            float[] out = new float[9];
            activations.quantize(randomActivations(random, 64 * 3), 64 * 3);
            float[] x = randomActivations(random, 64);
            activations.quantize(x, 64);
            activations.matmul(w, 1, out, 9, 64);
            byte[] qs = new byte[64];
            float[] ds = new float[2];
            referenceQuantize(x, 64, qs, ds);
            for (int r = 0; r < 9; r++) {
                assertEquals(referenceDot(seg, r, 2, qs, ds, 0), out[r], 0f, bits + " bits, row " + r);
            }
        }
    }
}
