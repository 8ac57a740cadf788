package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Products of a few weight rows, already dequantized to floats, with a batch of tokens, in register tiles
 * of 4 rows x 4 tokens: each step loads 4 weight and 4 token vectors for 16 multiply-adds, where one dot
 * product per row and token loads 2 vectors for 1. Every row and token pair keeps one accumulator over the
 * columns, reduced across lanes at the end, so results differ from {@link Simd#dot} only in the order of
 * the float additions. CPU time per row and token on one Zen 5 thread (F16Throughput, F16 weights), one
 * dot per pair before: 2816 x 1024 n = 128 52 -> 16 ns, n = 8 53-64 -> 30 ns; 1024 x 2816 n = 128
 * 150 -> 53 ns, n = 8 150-165 -> 72-100 ns (with F16Tensor's faster dequantization since: n = 8 16-19 and
 * 52-56 ns). Tried without gain: passes over blocks of 1024 columns, and dequantizing 16 KiB-256 KiB of rows
 * at a time with the tokens in the outer loop (slower). Larger batches on 16-lane vectors take
 * {@link #multiplyLanes} instead, with the tokens in the lanes and no reductions.
 */
final class TiledMatmul {
    private TiledMatmul() {
    }

    /**
     * {@code out[b * outRows + firstRow + i] = w[i * cols ..] . x[b * cols ..]} for rows i in [0, nRows) and
     * tokens b in [0, batch).
     */
    static void multiply(float[] w, int nRows, int cols, float[] x, int batch, float[] out, int outRows,
                         int firstRow) {
        if (!Simd.ENABLED) {
            for (int i = 0; i < nRows; i++) {
                for (int b = 0; b < batch; b++) {
                    out[b * outRows + firstRow + i] = Simd.dot(w, i * cols, x, b * cols, cols);
                }
            }
            return;
        }
        int i = 0;
        for (; i + 4 <= nRows; i += 4) {
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                tile4x4(w, i * cols, cols, x, b * cols, out, b * outRows + firstRow + i, outRows);
            }
            for (; b < batch; b++) {
                tile4x1(w, i * cols, cols, x, b * cols, out, b * outRows + firstRow + i);
            }
        }
        for (; i < nRows; i++) {
            for (int b = 0; b < batch; b++) {
                out[b * outRows + firstRow + i] = Simd.dot(w, i * cols, x, b * cols, cols);
            }
        }
    }

    /** Rows {@code w[w0 ..]} (4, {@code cols} apart) times tokens {@code x[x0 ..]} (4, {@code cols} apart). */
    private static void tile4x4(float[] w, int w0, int cols, float[] x, int x0, float[] out, int o0, int outRows) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int k = 0;
        for (int upper = cols - cols % LANES; k < upper; k += LANES) {
            FloatVector w0v = FloatVector.fromArray(F, w, w0 + k);
            FloatVector w1v = FloatVector.fromArray(F, w, w0 + cols + k);
            FloatVector w2v = FloatVector.fromArray(F, w, w0 + 2 * cols + k);
            FloatVector w3v = FloatVector.fromArray(F, w, w0 + 3 * cols + k);
            FloatVector x0v = FloatVector.fromArray(F, x, x0 + k);
            a00 = w0v.fma(x0v, a00);
            a10 = w1v.fma(x0v, a10);
            a20 = w2v.fma(x0v, a20);
            a30 = w3v.fma(x0v, a30);
            FloatVector x1v = FloatVector.fromArray(F, x, x0 + cols + k);
            a01 = w0v.fma(x1v, a01);
            a11 = w1v.fma(x1v, a11);
            a21 = w2v.fma(x1v, a21);
            a31 = w3v.fma(x1v, a31);
            FloatVector x2v = FloatVector.fromArray(F, x, x0 + 2 * cols + k);
            a02 = w0v.fma(x2v, a02);
            a12 = w1v.fma(x2v, a12);
            a22 = w2v.fma(x2v, a22);
            a32 = w3v.fma(x2v, a32);
            FloatVector x3v = FloatVector.fromArray(F, x, x0 + 3 * cols + k);
            a03 = w0v.fma(x3v, a03);
            a13 = w1v.fma(x3v, a13);
            a23 = w2v.fma(x3v, a23);
            a33 = w3v.fma(x3v, a33);
        }
        store(a00, w, w0, x, x0, k, cols, out, o0);
        store(a10, w, w0 + cols, x, x0, k, cols, out, o0 + 1);
        store(a20, w, w0 + 2 * cols, x, x0, k, cols, out, o0 + 2);
        store(a30, w, w0 + 3 * cols, x, x0, k, cols, out, o0 + 3);
        store(a01, w, w0, x, x0 + cols, k, cols, out, o0 + outRows);
        store(a11, w, w0 + cols, x, x0 + cols, k, cols, out, o0 + outRows + 1);
        store(a21, w, w0 + 2 * cols, x, x0 + cols, k, cols, out, o0 + outRows + 2);
        store(a31, w, w0 + 3 * cols, x, x0 + cols, k, cols, out, o0 + outRows + 3);
        store(a02, w, w0, x, x0 + 2 * cols, k, cols, out, o0 + 2 * outRows);
        store(a12, w, w0 + cols, x, x0 + 2 * cols, k, cols, out, o0 + 2 * outRows + 1);
        store(a22, w, w0 + 2 * cols, x, x0 + 2 * cols, k, cols, out, o0 + 2 * outRows + 2);
        store(a32, w, w0 + 3 * cols, x, x0 + 2 * cols, k, cols, out, o0 + 2 * outRows + 3);
        store(a03, w, w0, x, x0 + 3 * cols, k, cols, out, o0 + 3 * outRows);
        store(a13, w, w0 + cols, x, x0 + 3 * cols, k, cols, out, o0 + 3 * outRows + 1);
        store(a23, w, w0 + 2 * cols, x, x0 + 3 * cols, k, cols, out, o0 + 3 * outRows + 2);
        store(a33, w, w0 + 3 * cols, x, x0 + 3 * cols, k, cols, out, o0 + 3 * outRows + 3);
    }

    /** The 4 rows at {@code w[w0 ..]} times one token: the batch's last tokens when it is not a multiple of 4. */
    private static void tile4x1(float[] w, int w0, int cols, float[] x, int x0, float[] out, int o0) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (int upper = cols - cols % LANES; k < upper; k += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, x0 + k);
            a0 = FloatVector.fromArray(F, w, w0 + k).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, w0 + cols + k).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, w0 + 2 * cols + k).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, w0 + 3 * cols + k).fma(xv, a3);
        }
        store(a0, w, w0, x, x0, k, cols, out, o0);
        store(a1, w, w0 + cols, x, x0, k, cols, out, o0 + 1);
        store(a2, w, w0 + 2 * cols, x, x0, k, cols, out, o0 + 2);
        store(a3, w, w0 + 3 * cols, x, x0, k, cols, out, o0 + 3);
    }

    /**
     * {@link #multiply} for larger batches with the tokens in the vector lanes: {@code xt} holds the batch
     * transposed ({@code xt[k * padded + b]} is column k of token b, tokens past {@code batch} zero), and
     * each step broadcasts one weight of each of 4 rows and multiply-adds it with 4 vectors of tokens, 16
     * accumulators of {@link Simd#LANES} tokens each. Nothing is reduced across lanes, so no tile ends in
     * 16 horizontal sums (at 256 columns those cost a third of {@link #tile4x4}'s time), and every output
     * is one chain of fused multiply-adds over the columns in order, whatever tile, chunk or position in the
     * batch it falls in: the same bits for a token in a batch of 32 as among 128. {@code lanes} is scratch
     * of at least 16 x {@link Simd#LANES} floats.
     */
    static void multiplyLanes(float[] w, int nRows, int cols, float[] xt, int padded, int batch, float[] out,
                              int outRows, int firstRow, float[] lanes) {
        int i = 0;
        for (; i + 4 <= nRows; i += 4) {
            int t = 0;
            for (; t + 4 * LANES <= padded; t += 4 * LANES) {
                lanes4x4(w, i * cols, cols, xt, padded, t, lanes);
                scatter(lanes, 4, 4, batch, t, out, outRows, firstRow + i);
            }
            int left = (padded - t) / LANES;
            if (left == 3) {
                lanes4x3(w, i * cols, cols, xt, padded, t, lanes);
            } else if (left == 2) {
                lanes4x2(w, i * cols, cols, xt, padded, t, lanes);
            } else if (left == 1) {
                lanes4x1(w, i * cols, cols, xt, padded, t, lanes);
            }
            if (left > 0) {
                scatter(lanes, 4, left, batch, t, out, outRows, firstRow + i);
            }
        }
        for (; i < nRows; i++) {
            for (int t = 0; t < padded; t += LANES) {
                lanes1x1(w, i * cols, cols, xt, padded, t, lanes);
                scatter(lanes, 1, 1, batch, t, out, outRows, firstRow + i);
            }
        }
    }

    /**
     * Rows {@code w[w0 ..]} (4, {@code cols} apart) times the 4 x {@link Simd#LANES} tokens from {@code t0}:
     * the accumulator of row r and token vector j into {@code lanes[(4j + r) * LANES ..]}.
     */
    private static void lanes4x4(float[] w, int w0, int cols, float[] xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int xo = t0;
        for (int k = 0; k < cols; k++, xo += padded) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            FloatVector x1 = FloatVector.fromArray(F, xt, xo + LANES);
            FloatVector x2 = FloatVector.fromArray(F, xt, xo + 2 * LANES);
            FloatVector x3 = FloatVector.fromArray(F, xt, xo + 3 * LANES);
            FloatVector w0v = FloatVector.broadcast(F, w[w0 + k]);
            a00 = w0v.fma(x0, a00);
            a01 = w0v.fma(x1, a01);
            a02 = w0v.fma(x2, a02);
            a03 = w0v.fma(x3, a03);
            FloatVector w1v = FloatVector.broadcast(F, w[w0 + cols + k]);
            a10 = w1v.fma(x0, a10);
            a11 = w1v.fma(x1, a11);
            a12 = w1v.fma(x2, a12);
            a13 = w1v.fma(x3, a13);
            FloatVector w2v = FloatVector.broadcast(F, w[w0 + 2 * cols + k]);
            a20 = w2v.fma(x0, a20);
            a21 = w2v.fma(x1, a21);
            a22 = w2v.fma(x2, a22);
            a23 = w2v.fma(x3, a23);
            FloatVector w3v = FloatVector.broadcast(F, w[w0 + 3 * cols + k]);
            a30 = w3v.fma(x0, a30);
            a31 = w3v.fma(x1, a31);
            a32 = w3v.fma(x2, a32);
            a33 = w3v.fma(x3, a33);
        }
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, LANES);
        a20.intoArray(lanes, 2 * LANES);
        a30.intoArray(lanes, 3 * LANES);
        a01.intoArray(lanes, 4 * LANES);
        a11.intoArray(lanes, 5 * LANES);
        a21.intoArray(lanes, 6 * LANES);
        a31.intoArray(lanes, 7 * LANES);
        a02.intoArray(lanes, 8 * LANES);
        a12.intoArray(lanes, 9 * LANES);
        a22.intoArray(lanes, 10 * LANES);
        a32.intoArray(lanes, 11 * LANES);
        a03.intoArray(lanes, 12 * LANES);
        a13.intoArray(lanes, 13 * LANES);
        a23.intoArray(lanes, 14 * LANES);
        a33.intoArray(lanes, 15 * LANES);
    }

    /**
     * {@link #lanes4x4} for 3 vectors of tokens (the batch's last ones). The kernels for 4, 3, 2 and 1 token
     * vectors are written out alike on purpose: one kernel with a vector count would pick its accumulators by
     * branches, and C2 boxes vectors chosen that way.
     */
    private static void lanes4x3(float[] w, int w0, int cols, float[] xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        int xo = t0;
        for (int k = 0; k < cols; k++, xo += padded) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            FloatVector x1 = FloatVector.fromArray(F, xt, xo + LANES);
            FloatVector x2 = FloatVector.fromArray(F, xt, xo + 2 * LANES);
            FloatVector w0v = FloatVector.broadcast(F, w[w0 + k]);
            a00 = w0v.fma(x0, a00);
            a01 = w0v.fma(x1, a01);
            a02 = w0v.fma(x2, a02);
            FloatVector w1v = FloatVector.broadcast(F, w[w0 + cols + k]);
            a10 = w1v.fma(x0, a10);
            a11 = w1v.fma(x1, a11);
            a12 = w1v.fma(x2, a12);
            FloatVector w2v = FloatVector.broadcast(F, w[w0 + 2 * cols + k]);
            a20 = w2v.fma(x0, a20);
            a21 = w2v.fma(x1, a21);
            a22 = w2v.fma(x2, a22);
            FloatVector w3v = FloatVector.broadcast(F, w[w0 + 3 * cols + k]);
            a30 = w3v.fma(x0, a30);
            a31 = w3v.fma(x1, a31);
            a32 = w3v.fma(x2, a32);
        }
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, LANES);
        a20.intoArray(lanes, 2 * LANES);
        a30.intoArray(lanes, 3 * LANES);
        a01.intoArray(lanes, 4 * LANES);
        a11.intoArray(lanes, 5 * LANES);
        a21.intoArray(lanes, 6 * LANES);
        a31.intoArray(lanes, 7 * LANES);
        a02.intoArray(lanes, 8 * LANES);
        a12.intoArray(lanes, 9 * LANES);
        a22.intoArray(lanes, 10 * LANES);
        a32.intoArray(lanes, 11 * LANES);
    }

    /** {@link #lanes4x4} for 2 vectors of tokens. */
    private static void lanes4x2(float[] w, int w0, int cols, float[] xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00;
        FloatVector a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        int xo = t0;
        for (int k = 0; k < cols; k++, xo += padded) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            FloatVector x1 = FloatVector.fromArray(F, xt, xo + LANES);
            FloatVector w0v = FloatVector.broadcast(F, w[w0 + k]);
            a00 = w0v.fma(x0, a00);
            a01 = w0v.fma(x1, a01);
            FloatVector w1v = FloatVector.broadcast(F, w[w0 + cols + k]);
            a10 = w1v.fma(x0, a10);
            a11 = w1v.fma(x1, a11);
            FloatVector w2v = FloatVector.broadcast(F, w[w0 + 2 * cols + k]);
            a20 = w2v.fma(x0, a20);
            a21 = w2v.fma(x1, a21);
            FloatVector w3v = FloatVector.broadcast(F, w[w0 + 3 * cols + k]);
            a30 = w3v.fma(x0, a30);
            a31 = w3v.fma(x1, a31);
        }
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, LANES);
        a20.intoArray(lanes, 2 * LANES);
        a30.intoArray(lanes, 3 * LANES);
        a01.intoArray(lanes, 4 * LANES);
        a11.intoArray(lanes, 5 * LANES);
        a21.intoArray(lanes, 6 * LANES);
        a31.intoArray(lanes, 7 * LANES);
    }

    /** {@link #lanes4x4} for one vector of tokens: row r's accumulator into {@code lanes[r * LANES ..]}. */
    private static void lanes4x1(float[] w, int w0, int cols, float[] xt, int padded, int t0, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int xo = t0;
        for (int k = 0; k < cols; k++, xo += padded) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo);
            a0 = FloatVector.broadcast(F, w[w0 + k]).fma(x0, a0);
            a1 = FloatVector.broadcast(F, w[w0 + cols + k]).fma(x0, a1);
            a2 = FloatVector.broadcast(F, w[w0 + 2 * cols + k]).fma(x0, a2);
            a3 = FloatVector.broadcast(F, w[w0 + 3 * cols + k]).fma(x0, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    /** {@link #lanes4x4} for one row and one vector of tokens, into {@code lanes[0 .. LANES)}. */
    private static void lanes1x1(float[] w, int w0, int cols, float[] xt, int padded, int t0, float[] lanes) {
        FloatVector a = FloatVector.zero(F);
        int xo = t0;
        for (int k = 0; k < cols; k++, xo += padded) {
            a = FloatVector.broadcast(F, w[w0 + k]).fma(FloatVector.fromArray(F, xt, xo), a);
        }
        a.intoArray(lanes, 0);
    }

    /**
     * Stores the accumulators of {@code rows} rows x {@code vectors} token vectors from {@code lanes} (row r,
     * vector j at {@code (j * rows + r) * LANES}) into {@code out[b * outRows + row0 + r]}, tokens b from
     * {@code t0} below {@code batch}.
     */
    private static void scatter(float[] lanes, int rows, int vectors, int batch, int t0, float[] out, int outRows,
                                int row0) {
        for (int j = 0; j < vectors; j++) {
            for (int l = 0; l < LANES; l++) {
                int b = t0 + j * LANES + l;
                if (b >= batch) {
                    return;
                }
                int o = b * outRows + row0;
                for (int r = 0; r < rows; r++) {
                    out[o + r] = lanes[(j * rows + r) * LANES + l];
                }
            }
        }
    }

    /**
     * Tokens {@code [b0, b0 + LANES)} of the batch into the layout of {@link #multiplyLanes}: {@code xt[k *
     * padded + b] = x[xOffset + b * cols + k]}, zeros for tokens from {@code batch} on. A whole group of
     * tokens is one gather per column ({@code map} holds {@code i * cols} for lane i): one Zen 5 thread, 128
     * tokens x 256 columns, 12 us, against 30-60 us for scalar copies in either loop order (the stores or the
     * loads go a row apart, and rows of 1024 columns share L1 sets).
     */
    static void transpose(float[] x, int xOffset, int batch, int cols, float[] xt, int padded, int b0, int[] map) {
        if (b0 + LANES <= batch) {
            int src = xOffset + b0 * cols;
            for (int k = 0, o = b0; k < cols; k++, o += padded) {
                FloatVector.fromArray(F, x, src + k, map, 0).intoArray(xt, o);
            }
            return;
        }
        for (int k = 0, o = b0; k < cols; k++, o += padded) {
            for (int b = b0; b < b0 + LANES; b++) {
                xt[o + b - b0] = b < batch ? x[xOffset + b * cols + k] : 0f;
            }
        }
    }

    /** Reduces one accumulator, adds the columns {@code [k, cols)} the vectors did not cover, and stores. */
    private static void store(FloatVector acc, float[] w, int wRow, float[] x, int xRow, int k, int cols,
                              float[] out, int o) {
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; k < cols; k++) {
            sum += w[wRow + k] * x[xRow + k];
        }
        out[o] = sum;
    }
}
