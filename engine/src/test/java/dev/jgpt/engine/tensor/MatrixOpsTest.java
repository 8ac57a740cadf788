package dev.jgpt.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** matvec and matmul against plain loops over dotScalar, serial and on pools of several sizes. */
class MatrixOpsTest {

    private static void assertMatvec(MatrixOps ops, GgmlType type, int rows, int cols, Random random) {
        FloatTensor w = Tensors.quantized(type, Tensors.gaussian(random, rows * cols, 1f));
        float[] x = Tensors.gaussian(random, cols + 5, 1f);
        float[] out = new float[rows + 3];
        ops.matvec(w, x, 5, out, 3, rows, cols);
        for (int r = 0; r < rows; r++) {
            float expected = w.dotScalar((long) r * cols, x, 5, cols);
            assertEquals(expected, out[3 + r], 1e-4f * (float) Math.sqrt(cols) * 4, type + " row " + r);
        }
    }

    private static void assertMatmul(MatrixOps ops, GgmlType type, int rows, int cols, int n, Random random) {
        FloatTensor w = Tensors.quantized(type, Tensors.gaussian(random, rows * cols, 1f));
        float[] x = Tensors.gaussian(random, n * cols, 1f);
        float[] out = new float[n * rows];
        ops.matmul(w, x, n, out, rows, cols);
        for (int b = 0; b < n; b++) {
            for (int r = 0; r < rows; r++) {
                float expected = w.dotScalar((long) r * cols, x, b * cols, cols);
                assertEquals(expected, out[b * rows + r], 1e-4f * (float) Math.sqrt(cols) * 4,
                        type + " batch " + b + " row " + r);
            }
        }
    }

    @Test
    void matvecAndMatmulMatchScalarLoopsForEveryType() {
        Random random = new Random(5);
        for (int threads : new int[] {1, 2, 3}) {
            try (MatrixOps ops = new MatrixOps(threads)) {
                for (GgmlType type : Tensors.supportedTypes()) {
                    // 8 x 256 stays on the caller; 300 x 512 is split across the pool.
                    assertMatvec(ops, type, 8, 256, random);
                    assertMatvec(ops, type, 300, 512, random);
                    // 40 and 70 tokens: the batch transposed, tokens in the vector lanes
                    for (int n : new int[] {1, 2, 5, 40, 70}) {
                        assertMatmul(ops, type, 70, 512, n, random);
                    }
                }
            }
        }
    }

    /**
     * Random F16 weights with a subnormal half in row 0, a negative one in row 1, an infinity in row 2 and a NaN
     * in row 3 (at least 4 rows of at least 6 columns).
     */
    private static FloatTensor f16WithSpecialValues(Random random, int rows, int cols) {
        float[] values = Tensors.gaussian(random, rows * cols, 1f);
        values[3] = 3e-6f;
        values[cols + 1] = -5e-8f;
        values[2 * cols + 2] = Float.POSITIVE_INFINITY;
        values[3 * cols + 5] = Float.NaN;
        return Tensors.quantized(GgmlType.F16, values);
    }

    @Test
    void f16RowsConvertedFirstMatchTheScalarDot() {
        // F16 products of one token with cached weights convert rows up to CONVERTED_COLS long 4 at a time
        // (up to EIGHT_ROWS_COLS 8 at a time, unless -Djgpt.f16.eightRows=false) before the products
        // (F16Tensor.dotRows; longer rows and leftover rows go one at a time; 37 rows leave 5 after the
        // groups of 8): row lengths with and without a tail, on both sides of the limit, and subnormal,
        // infinite and NaN halves (which the conversion must keep); matvecs and uncached weights take
        // FloatTensor.dot.
        Random random = new Random(7);
        for (int cols : new int[] {32, 96, 100, 257, 1024, 1056, 2816}) {
            int rows = 37;
            FloatTensor w = f16WithSpecialValues(random, rows, cols);
            float[] x = Tensors.gaussian(random, cols + 2, 1f);
            x[2 + 2] = Math.abs(x[2 + 2]);
            for (int threads : new int[] {1, 2}) {
                try (MatrixOps ops = new MatrixOps(threads)) {
                    float[] out = new float[rows + 1];
                    ops.matvec(w, x, 2, out, 1, rows, cols);
                    float[] single = new float[rows];
                    ops.matmul(w, java.util.Arrays.copyOfRange(x, 2, cols + 2), 1, single, rows, cols, true);
                    assertEquals(Float.POSITIVE_INFINITY, out[1 + 2], cols + " columns: the infinite row");
                    assertEquals(Float.POSITIVE_INFINITY, single[2], cols + " columns: the infinite row, matmul of 1");
                    assertTrue(Float.isNaN(out[1 + 3]) && Float.isNaN(single[3]), cols + " columns: the NaN row");
                    for (int r = 0; r < rows; r++) {
                        if (r == 2 || r == 3) {
                            continue;
                        }
                        float expected = w.dotScalar((long) r * cols, x, 2, cols);
                        float tolerance = 1e-4f * (float) Math.sqrt(cols) * 4;
                        assertEquals(expected, out[1 + r], tolerance, cols + " columns, row " + r);
                        assertEquals(expected, single[r], tolerance, cols + " columns, matmul of 1, row " + r);
                    }
                }
            }
        }
    }


    @Test
    void f16RowsConvertedAtAnyOffsetOfTheScratchGiveTheSameSums() {
        // MatrixOps passes F16Tensor.dotRows the offset that puts its scratch rows on a 64-byte boundary
        // (Alignment.floatOffset, 0..15): every offset must give the sums of offset 0, for rows taken 8, 4 and 1
        // at a time, with tails (the same operations in the same order, but reduceLanes adds the lanes in
        // another order interpreted than compiled, so bits are not compared)
        Random random = new Random(17);
        for (float[] a : new float[][] {new float[1], new float[33], new float[4096]}) {
            int offset = Alignment.floatOffset(a);
            assertTrue(offset >= 0 && offset < 16, "offset " + offset);
        }
        for (int cols : new int[] {32, 100, 256, 1056}) {
            int rows = 37;
            F16Tensor w = (F16Tensor) f16WithSpecialValues(random, rows, cols);
            float[] x = Tensors.gaussian(random, cols, 1f);
            float[] expected = new float[rows];
            w.dotRows(0, rows, cols, x, 0, expected, 0, new float[F16Tensor.dotRowsScratch(cols)], 0);
            for (int ro = 1; ro < 16; ro++) {
                float[] out = new float[rows];
                w.dotRows(0, rows, cols, x, 0, out, 0, new float[F16Tensor.dotRowsScratch(cols) + ro], ro);
                for (int r = 0; r < rows; r++) {
                    String where = cols + " columns, offset " + ro + ", row " + r;
                    if (Float.isFinite(expected[r])) {
                        assertEquals(expected[r], out[r], 1e-6f * cols, where);
                    } else {
                        assertEquals(expected[r], out[r], where); // the infinite and NaN rows
                    }
                }
            }
        }
    }

    @Test
    void f16PairsOfRowsConvertedOrNotGiveTheScalarDot() {
        // Cached F16 batches take dotConverted2x8 on rows converted first (on Intel CPUs) or dotRows2x8 (which
        // converts in registers): whichever this machine's MatrixOps picks, both kernels are checked here, with
        // subnormal, infinite and NaN halves (pairs of rows 0-1 and 2-3).
        Random random = new Random(13);
        for (int cols : new int[] {32, 256, 1056}) {
            int rows = 6;
            F16Tensor w = (F16Tensor) f16WithSpecialValues(random, rows, cols);
            float[] x = Tensors.gaussian(random, 8 * cols, 1f);
            for (int b = 0; b < 8; b++) {
                x[b * cols + 2] = Math.abs(x[b * cols + 2]);
            }
            float[] direct = new float[8 * rows];
            float[] converted = new float[8 * rows];
            float[] row = new float[2 * cols];
            for (int r = 0; r < rows; r += 2) {
                w.dotRows2x8(r, cols, x, 0, direct, rows);
                w.dequantizeBlocks((long) r * cols, 2 * cols, row, 0);
                F16Tensor.dotConverted2x8(row, r, cols, x, 0, converted, rows);
            }
            for (int b = 0; b < 8; b++) {
                for (float[] out : new float[][] {direct, converted}) {
                    String where = cols + " columns, token " + b + (out == direct ? ", direct" : ", converted");
                    assertEquals(Float.POSITIVE_INFINITY, out[b * rows + 2], where + ": the infinite row");
                    assertTrue(Float.isNaN(out[b * rows + 3]), where + ": the NaN row");
                    for (int r : new int[] {0, 1, 4, 5}) {
                        float expected = w.dotScalar((long) r * cols, x, b * cols, cols);
                        assertEquals(expected, out[b * rows + r], 1e-4f * (float) Math.sqrt(cols) * 4,
                                where + ", row " + r);
                    }
                }
            }
        }
    }

    @Test
    void f16BatchesOfCachedAndStreamedWeightsMatchTheScalarDot() {
        // Cached F16 weights multiply groups of 8 tokens straight from the halves (F16Tensor.dotRows2x8 on
        // pairs of rows, or dotConverted2x8 on Intel CPUs, and dotRow1x8 on a chunk's odd last row, with 16
        // lanes), and leftover tokens by dequantized tiles; streamed weights take the tiles for everything.
        // Every split (odd rows and rows not a multiple of 4, batches not a multiple of 8, one or two threads)
        // must cover every output, convert subnormal, infinite and NaN halves, and agree with the scalar dot.
        // (The two sum in the same order, but reduceLanes adds the lanes in another order interpreted than
        // compiled, so bits are not compared here.)
        Random random = new Random(11);
        for (int cols : new int[] {32, 256, 1056}) {
            for (int rows : new int[] {5, 37}) {
                FloatTensor w = f16WithSpecialValues(random, rows, cols);
                for (int n : new int[] {2, 8, 13, 16, 21}) {
                    float[] x = Tensors.gaussian(random, n * cols, 1f);
                    for (int b = 0; b < n; b++) {
                        x[b * cols + 2] = Math.abs(x[b * cols + 2]);
                    }
                    for (int threads : new int[] {1, 2}) {
                        try (MatrixOps ops = new MatrixOps(threads)) {
                            for (boolean cached : new boolean[] {true, false}) {
                                float[] out = new float[n * rows];
                                java.util.Arrays.fill(out, Float.MIN_VALUE);
                                ops.matmul(w, x, n, out, rows, cols, cached);
                                String where = rows + " x " + cols + ", " + n + " tokens, " + threads
                                        + " threads, cached " + cached;
                                for (int b = 0; b < n; b++) {
                                    assertEquals(Float.POSITIVE_INFINITY, out[b * rows + 2],
                                            where + ": the infinite row");
                                    assertTrue(Float.isNaN(out[b * rows + 3]), where + ": the NaN row");
                                    for (int r = 0; r < rows; r++) {
                                        if (r == 2 || r == 3) {
                                            continue;
                                        }
                                        float expected = w.dotScalar((long) r * cols, x, b * cols, cols);
                                        assertEquals(expected, out[b * rows + r], 1e-4f * (float) Math.sqrt(cols) * 4,
                                                where + ": token " + b + ", row " + r);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    @Test
    void manyBackToBackJobsAndConcurrentCallers() throws Exception {
        Random random = new Random(6);
        int rows = 256;
        int cols = 512;
        FloatTensor w = Tensors.quantized(GgmlType.Q4_K, Tensors.gaussian(random, rows * cols, 1f));
        float[] x = Tensors.gaussian(random, cols, 1f);
        float[] expected = new float[rows];
        for (int r = 0; r < rows; r++) {
            expected[r] = w.dot((long) r * cols, x, 0, cols);
        }
        try (MatrixOps ops = new MatrixOps(2)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Runnable caller = () -> {
                try {
                    float[] out = new float[rows];
                    for (int i = 0; i < 3000; i++) {
                        java.util.Arrays.fill(out, Float.NaN);
                        ops.matvec(w, x, 0, out, 0, rows, cols);
                        for (int r = 0; r < rows; r++) {
                            // Not bit-exact: the lane reduction may change order once the JIT compiles it.
                            if (!(Math.abs(out[r] - expected[r]) <= 1e-4f * (1 + Math.abs(expected[r])))) {
                                throw new AssertionError("iteration " + i + " row " + r + ": " + out[r]
                                        + " expected " + expected[r]);
                            }
                        }
                        if (i % 500 == 0) {
                            Thread.sleep(1); // let the workers park, then wake them again
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            };
            Thread other = new Thread(caller);
            other.start();
            caller.run();
            other.join();
            assertNull(failure.get());
        }
    }

    @Test
    void forRowsCoversEveryRowExactlyOnceWhateverTheSplit() {
        for (int threads : new int[] {1, 2, 3}) {
            try (MatrixOps ops = new MatrixOps(threads)) {
                // rows fewer than threads, rows that no chunk count divides, work below and far above the
                // serial threshold, and more chunks' worth of work than rows
                for (int rows : new int[] {1, 2, 3, 7, 100, 257, 32000}) {
                    for (long work : new long[] {1, MatrixOps.SERIAL_WORK, (long) rows * 256, 1L << 30}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(rows);
                        ops.forRows(rows, work, (from, to) -> {
                            for (int r = from; r < to; r++) {
                                hits.incrementAndGet(r);
                            }
                        });
                        for (int r = 0; r < rows; r++) {
                            assertEquals(1, hits.get(r), threads + " threads, " + rows + " rows, work " + work
                                    + ": row " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rejectsShapesThatDoNotFit() {
        FloatTensor w = Tensors.quantized(GgmlType.Q8_0, new float[64]);
        MatrixOps ops = MatrixOps.shared();
        assertThrows(IllegalArgumentException.class, () -> ops.matvec(w, new float[64], 0, new float[2], 0, 2, 64));
        assertThrows(IllegalArgumentException.class, () -> ops.matvec(w, new float[32], 1, new float[2], 0, 2, 32));
        assertThrows(IllegalArgumentException.class, () -> ops.matmul(w, new float[32], 2, new float[2], 2, 32));
    }
}
