package dev.jgpt.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** TiledMatmul against a double-precision scalar loop, for every tile shape and leftover it handles. */
class TiledMatmulTest {

    @Test
    void matchesScalarProductsForEveryTileAndLeftover() {
        Random random = new Random(11);
        // cols: whole vectors of 8 and 16 lanes, odd leftovers, a wide row; rows and tokens below,
        // at and past the 4 x 4 tile; starting at the first token or a later one (the tokens before it are
        // left as they are).
        for (int cols : new int[] {16, 64, 256, 37, 100, 5, 2821}) {
            for (int nRows = 1; nRows <= 9; nRows++) {
                for (int batch : new int[] {1, 3, 4, 5, 8, 11}) {
                    for (int t0 : new int[] {0, 1, 4}) {
                        if (t0 >= batch) {
                            continue;
                        }
                        float[] w = Tensors.gaussian(random, nRows * cols, 1f);
                        float[] x = Tensors.gaussian(random, batch * cols, 1f);
                        int outRows = nRows + 7;
                        int firstRow = 3;
                        float[] out = new float[batch * outRows];
                        java.util.Arrays.fill(out, Float.NaN);
                        TiledMatmul.multiply(w, nRows, cols, x, t0, batch, out, outRows, firstRow);
                        for (int b = 0; b < batch; b++) {
                            for (int i = 0; i < nRows; i++) {
                                if (b < t0) {
                                    assertEquals(Float.NaN, out[b * outRows + firstRow + i],
                                            cols + " cols, " + nRows + " rows, from token " + t0 + ": token " + b);
                                    continue;
                                }
                                double sum = 0;
                                double magnitude = 0;
                                for (int k = 0; k < cols; k++) {
                                    double p = (double) w[i * cols + k] * x[b * cols + k];
                                    sum += p;
                                    magnitude += Math.abs(p);
                                }
                                assertEquals(sum, out[b * outRows + firstRow + i], 1e-6 * magnitude,
                                        cols + " cols, " + nRows + " rows, " + batch + " tokens from " + t0
                                                + ": row " + i + " token " + b);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void rowsAndTokensFromOffsetsOfTheirArrays() {
        // MatrixOps hands the tiles rows and tokens from the offsets that put them on 64-byte boundaries of its
        // scratch arrays (Alignment.floatOffset): the products must be those of the same values at offset 0
        Random random = new Random(19);
        for (int cols : new int[] {16, 37, 256}) {
            int nRows = 6;
            int batch = 9;
            float[] w = Tensors.gaussian(random, nRows * cols, 1f);
            float[] x = Tensors.gaussian(random, batch * cols, 1f);
            float[] expected = new float[batch * nRows];
            TiledMatmul.multiply(w, nRows, cols, x, 0, batch, expected, nRows, 0);
            for (int offset : new int[] {1, 5, 15}) {
                float[] wo = new float[offset + w.length];
                float[] xo = new float[offset + 1 + x.length];
                java.util.Arrays.fill(wo, Float.NaN);
                java.util.Arrays.fill(xo, Float.NaN);
                System.arraycopy(w, 0, wo, offset, w.length);
                System.arraycopy(x, 0, xo, offset + 1, x.length);
                float[] out = new float[batch * nRows];
                TiledMatmul.multiply(wo, offset, nRows, cols, xo, offset + 1, 0, batch, out, nRows, 0);
                for (int i = 0; i < out.length; i++) {
                    assertEquals(expected[i], out[i], 1e-5f * (float) Math.sqrt(cols),
                            cols + " cols, offset " + offset + ", output " + i);
                }
            }
        }
    }

    @Test
    void tokenLanesGiveEachOutputOneFusedChainOverTheColumns() {
        if (!Simd.ENABLED) {
            return; // the lanes kernels need vectors; MatrixOps does not call them without
        }
        Random random = new Random(13);
        // tokens: one vector, every count of leftover vectors after the 4-vector tiles, partial vectors
        for (int cols : new int[] {16, 37, 256, 5}) {
            for (int nRows = 1; nRows <= 9; nRows++) {
                for (int batch : new int[] {1, 15, 16, 17, 33, 48, 64, 70, 113, 130}) {
                    float[] w = Tensors.gaussian(random, nRows * cols, 1f);
                    float[] x = Tensors.gaussian(random, 3 + batch * cols, 1f);
                    int padded = (batch + Simd.LANES - 1) / Simd.LANES * Simd.LANES;
                    java.lang.foreign.MemorySegment xt = java.lang.foreign.Arena.ofAuto()
                            .allocate((long) padded * cols * Float.BYTES, 64);
                    for (long i = 0; i < (long) padded * cols; i++) {
                        xt.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, Float.NaN); // padding must be written too
                    }
                    int[] map = new int[Simd.LANES];
                    for (int i = 0; i < map.length; i++) {
                        map[i] = i * cols;
                    }
                    for (int b0 = 0; b0 < padded; b0 += Simd.LANES) {
                        TiledMatmul.transpose(x, 3, batch, cols, xt, padded, b0, map);
                    }
                    int outRows = nRows + 7;
                    int firstRow = 3;
                    float[] out = new float[batch * outRows];
                    TiledMatmul.multiplyLanes(w, nRows, cols, xt, padded, batch, out, outRows, firstRow,
                            new float[16 * Simd.LANES]);
                    for (int b = 0; b < batch; b++) {
                        for (int i = 0; i < nRows; i++) {
                            float acc = 0f;
                            for (int k = 0; k < cols; k++) {
                                acc = Math.fma(w[i * cols + k], x[3 + b * cols + k], acc);
                            }
                            assertEquals(acc, out[b * outRows + firstRow + i],
                                    cols + " cols, " + nRows + " rows, " + batch + " tokens: row " + i + " token " + b);
                        }
                    }
                }
            }
        }
    }

    @Test
    void leavesOtherOutputsAlone() {
        Random random = new Random(12);
        int cols = 48;
        float[] w = Tensors.gaussian(random, 5 * cols, 1f);
        float[] x = Tensors.gaussian(random, 6 * cols, 1f);
        int outRows = 12;
        float[] out = new float[6 * outRows];
        java.util.Arrays.fill(out, Float.NaN);
        TiledMatmul.multiply(w, 5, cols, x, 0, 6, out, outRows, 4);
        for (int b = 0; b < 6; b++) {
            for (int r = 0; r < outRows; r++) {
                boolean written = r >= 4 && r < 9;
                assertEquals(written, !Float.isNaN(out[b * outRows + r]), "token " + b + " row " + r);
            }
        }
    }
}
