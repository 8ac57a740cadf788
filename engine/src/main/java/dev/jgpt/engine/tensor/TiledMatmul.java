package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

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
 * at a time with the tokens in the outer loop (slower). Larger batches take {@link #multiplyLanes} instead,
 * with the tokens in the lanes and no reductions (from 32 tokens with 16 lanes, from 16 with 8: see
 * {@link MatrixOps#LANE_BATCH}).
 */
final class TiledMatmul {
    /** The byte order of {@link #multiplyLanes}' transposed batch, native memory this process writes and reads. */
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = (long) LANES * Float.BYTES;
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    /**
     * {@link #quads}' two steps on 16 lanes: rows a and b interleaved lane by lane (lanes 0-7 of each, or
     * 8-15), then two such pairs interleaved two lanes at a time, so that each 4 lanes hold one token's 4
     * rows. Null without 16 lanes (the lanes kernels then never run).
     */
    private static final IntVector PAIRS_LOW = indexes(i -> (i >> 1) + (i & 1) * 16);
    private static final IntVector PAIRS_HIGH = indexes(i -> 8 + (i >> 1) + (i & 1) * 16);
    private static final IntVector QUADS_LOW = indexes(i -> 2 * (i >> 2) + (i & 1) + ((i >> 1) & 1) * 16);
    private static final IntVector QUADS_HIGH = indexes(i -> 8 + 2 * (i >> 2) + (i & 1) + ((i >> 1) & 1) * 16);
    private TiledMatmul() {
    }

    /**
     * {@code out[b * outRows + firstRow + i] = w[i * cols ..] . x[b * cols ..]} for rows i in [0, nRows) and
     * tokens b in [t0, batch).
     */
    static void multiply(float[] w, int nRows, int cols, float[] x, int t0, int batch, float[] out, int outRows,
                         int firstRow) {
        multiply(w, 0, nRows, cols, x, 0, t0, batch, out, outRows, firstRow);
    }

    /**
     * {@link #multiply(float[], int, int, float[], int, int, float[], int, int)} on rows from {@code w[wo]} on and
     * tokens from {@code x[xo]} on.
     */
    static void multiply(float[] w, int wo, int nRows, int cols, float[] x, int xo, int t0, int batch,
                         float[] out, int outRows, int firstRow) {
        if (!Simd.ENABLED) {
            for (int i = 0; i < nRows; i++) {
                for (int b = t0; b < batch; b++) {
                    out[b * outRows + firstRow + i] = Simd.dot(w, wo + i * cols, x, xo + b * cols, cols);
                }
            }
            return;
        }
        int i = 0;
        for (; i + 4 <= nRows; i += 4) {
            int b = t0;
            for (; b + 4 <= batch; b += 4) {
                tile4x4(w, wo + i * cols, cols, x, xo + b * cols, out, b * outRows + firstRow + i, outRows);
            }
            for (; b < batch; b++) {
                tile4x1(w, wo + i * cols, cols, x, xo + b * cols, out, b * outRows + firstRow + i);
            }
        }
        for (; i < nRows; i++) {
            for (int b = t0; b < batch; b++) {
                out[b * outRows + firstRow + i] = Simd.dot(w, wo + i * cols, x, xo + b * cols, cols);
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
     * transposed, as native-order floats on a 64-byte boundary (float {@code k * padded + b} is column k of
     * token b, tokens past {@code batch} zero; see {@link #transpose}), and
     * each step broadcasts one weight of each of 4 rows and multiply-adds it with 4 vectors of tokens, 16
     * accumulators of {@link Simd#LANES} tokens each. Nothing is reduced across lanes, so no tile ends in
     * 16 horizontal sums (at 256 columns those cost a third of {@link #tile4x4}'s time), and every output
     * is one chain of fused multiply-adds over the columns in order, whatever tile, chunk or position in the
     * batch it falls in: the same bits for a token in a batch of 32 as among 128. {@code lanes} is scratch
     * of at least 16 x {@link Simd#LANES} floats.
     */
    static void multiplyLanes(float[] w, int nRows, int cols, MemorySegment xt, int padded, int batch, float[] out,
                              int outRows, int firstRow, float[] lanes) {
        int i = 0;
        for (; i + 4 <= nRows; i += 4) {
            int t = 0;
            if (LANES == 16) {
                for (; t + 4 * LANES <= padded; t += 4 * LANES) {
                    lanes4x4(w, i * cols, cols, xt, padded, t, lanes);
                    scatter(lanes, 4, 4, batch, t, out, outRows, firstRow + i);
                }
            } else {
                // 8 lanes (AVX2): 16 vector registers hold 4 x 2 accumulators with their loads, not 4 x 4
                for (; t + 2 * LANES <= padded; t += 2 * LANES) {
                    lanes4x2(w, i * cols, cols, xt, padded, t, lanes);
                    scatter(lanes, 4, 2, batch, t, out, outRows, firstRow + i);
                }
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
    private static void lanes4x4(float[] w, int w0, int cols, MemorySegment xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        long stride = (long) padded * Float.BYTES;
        long xo = (long) t0 * Float.BYTES;
        for (int k = 0; k < cols; k++, xo += stride) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, xo, NATIVE);
            FloatVector x1 = FloatVector.fromMemorySegment(F, xt, xo + VECTOR_BYTES, NATIVE);
            FloatVector x2 = FloatVector.fromMemorySegment(F, xt, xo + 2 * VECTOR_BYTES, NATIVE);
            FloatVector x3 = FloatVector.fromMemorySegment(F, xt, xo + 3 * VECTOR_BYTES, NATIVE);
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
    private static void lanes4x3(float[] w, int w0, int cols, MemorySegment xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        long stride = (long) padded * Float.BYTES;
        long xo = (long) t0 * Float.BYTES;
        for (int k = 0; k < cols; k++, xo += stride) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, xo, NATIVE);
            FloatVector x1 = FloatVector.fromMemorySegment(F, xt, xo + VECTOR_BYTES, NATIVE);
            FloatVector x2 = FloatVector.fromMemorySegment(F, xt, xo + 2 * VECTOR_BYTES, NATIVE);
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
    private static void lanes4x2(float[] w, int w0, int cols, MemorySegment xt, int padded, int t0, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00;
        FloatVector a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        long stride = (long) padded * Float.BYTES;
        long xo = (long) t0 * Float.BYTES;
        for (int k = 0; k < cols; k++, xo += stride) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, xo, NATIVE);
            FloatVector x1 = FloatVector.fromMemorySegment(F, xt, xo + VECTOR_BYTES, NATIVE);
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
    private static void lanes4x1(float[] w, int w0, int cols, MemorySegment xt, int padded, int t0, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long stride = (long) padded * Float.BYTES;
        long xo = (long) t0 * Float.BYTES;
        for (int k = 0; k < cols; k++, xo += stride) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, xo, NATIVE);
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
    private static void lanes1x1(float[] w, int w0, int cols, MemorySegment xt, int padded, int t0, float[] lanes) {
        FloatVector a = FloatVector.zero(F);
        long stride = (long) padded * Float.BYTES;
        long xo = (long) t0 * Float.BYTES;
        for (int k = 0; k < cols; k++, xo += stride) {
            a = FloatVector.broadcast(F, w[w0 + k]).fma(FloatVector.fromMemorySegment(F, xt, xo, NATIVE), a);
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
        int j = 0;
        if (rows == 4 && LANES == 16) {
            for (; j < vectors && t0 + (j + 1) * LANES <= batch; j++) {
                quads(lanes, j * 4 * LANES, out, (t0 + j * LANES) * outRows + row0, outRows);
            }
        }
        for (; j < vectors; j++) {
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
     * One token vector's 4 row accumulators ({@code lanes[at ..]}, {@code 4 x 16} floats) into {@code out}:
     * each token's 4 rows are 4 consecutive outputs ({@code out[o + l * outRows ..]} for lane l), so the 16
     * lanes are transposed into 4-lane groups by two steps of two-vector permutations and stored 4 floats
     * at a time, instead of 64 single floats (one Intel Xeon thread, 768 x 256 by 128 tokens: the scalar
     * copies were ~10% of {@link #multiplyLanes}).
     */
    private static void quads(float[] lanes, int at, float[] out, int o, int outRows) {
        IntVector a0 = FloatVector.fromArray(F, lanes, at).reinterpretAsInts();
        IntVector a1 = FloatVector.fromArray(F, lanes, at + 16).reinterpretAsInts();
        IntVector a2 = FloatVector.fromArray(F, lanes, at + 32).reinterpretAsInts();
        IntVector a3 = FloatVector.fromArray(F, lanes, at + 48).reinterpretAsInts();
        IntVector u0 = PAIRS_LOW.selectFrom(a0, a1);
        IntVector u1 = PAIRS_HIGH.selectFrom(a0, a1);
        IntVector u2 = PAIRS_LOW.selectFrom(a2, a3);
        IntVector u3 = PAIRS_HIGH.selectFrom(a2, a3);
        // tokens 0-3, 4-7, 8-11, 12-15, each 4 lanes one token's rows 0-3
        FloatVector q0 = QUADS_LOW.selectFrom(u0, u2).reinterpretAsFloats();
        FloatVector q1 = QUADS_HIGH.selectFrom(u0, u2).reinterpretAsFloats();
        FloatVector q2 = QUADS_LOW.selectFrom(u1, u3).reinterpretAsFloats();
        FloatVector q3 = QUADS_HIGH.selectFrom(u1, u3).reinterpretAsFloats();
        ((FloatVector) q0.reinterpretShape(F4, 0)).intoArray(out, o);
        ((FloatVector) q0.reinterpretShape(F4, 1)).intoArray(out, o + outRows);
        ((FloatVector) q0.reinterpretShape(F4, 2)).intoArray(out, o + 2 * outRows);
        ((FloatVector) q0.reinterpretShape(F4, 3)).intoArray(out, o + 3 * outRows);
        ((FloatVector) q1.reinterpretShape(F4, 0)).intoArray(out, o + 4 * outRows);
        ((FloatVector) q1.reinterpretShape(F4, 1)).intoArray(out, o + 5 * outRows);
        ((FloatVector) q1.reinterpretShape(F4, 2)).intoArray(out, o + 6 * outRows);
        ((FloatVector) q1.reinterpretShape(F4, 3)).intoArray(out, o + 7 * outRows);
        ((FloatVector) q2.reinterpretShape(F4, 0)).intoArray(out, o + 8 * outRows);
        ((FloatVector) q2.reinterpretShape(F4, 1)).intoArray(out, o + 9 * outRows);
        ((FloatVector) q2.reinterpretShape(F4, 2)).intoArray(out, o + 10 * outRows);
        ((FloatVector) q2.reinterpretShape(F4, 3)).intoArray(out, o + 11 * outRows);
        ((FloatVector) q3.reinterpretShape(F4, 0)).intoArray(out, o + 12 * outRows);
        ((FloatVector) q3.reinterpretShape(F4, 1)).intoArray(out, o + 13 * outRows);
        ((FloatVector) q3.reinterpretShape(F4, 2)).intoArray(out, o + 14 * outRows);
        ((FloatVector) q3.reinterpretShape(F4, 3)).intoArray(out, o + 15 * outRows);
    }

    /** A 16-lane index vector, lane i holding {@code f(i)}; null without 16 lanes. */
    private static IntVector indexes(java.util.function.IntUnaryOperator f) {
        if (LANES != 16) {
            return null;
        }
        int[] a = new int[16];
        for (int i = 0; i < 16; i++) {
            a[i] = f.applyAsInt(i);
        }
        return IntVector.fromArray(IntVector.SPECIES_512, a, 0);
    }

    /** {@link #transpose}'s gather indexes for rows of {@code cols} columns: {@code i * cols} for lane i. */
    static int[] gatherMap(int cols) {
        int[] map = new int[LANES];
        for (int i = 0; i < map.length; i++) {
            map[i] = i * cols;
        }
        return map;
    }

    /**
     * Tokens {@code [b0, b0 + LANES)} of the batch into the layout of {@link #multiplyLanes}: {@code xt[k *
     * padded + b] = x[xOffset + b * cols + k]}, zeros for tokens from {@code batch} on. A whole group of
     * tokens is one gather per column ({@code map} holds {@code i * cols} for lane i): one Zen 5 thread, 128
     * tokens x 256 columns, 12 us, against 30-60 us for scalar copies in either loop order (the stores or the
     * loads go a row apart, and rows of 1024 columns share L1 sets).
     */
    static void transpose(float[] x, int xOffset, int batch, int cols, MemorySegment xt, int padded, int b0,
                          int[] map) {
        long stride = (long) padded * Float.BYTES;
        if (b0 + LANES <= batch) {
            int src = xOffset + b0 * cols;
            long o = (long) b0 * Float.BYTES;
            for (int k = 0; k < cols; k++, o += stride) {
                FloatVector.fromArray(F, x, src + k, map, 0).intoMemorySegment(xt, o, NATIVE);
            }
            return;
        }
        for (int k = 0; k < cols; k++) {
            for (int b = b0; b < b0 + LANES; b++) {
                xt.setAtIndex(ValueLayout.JAVA_FLOAT, (long) k * padded + b, b < batch ? x[xOffset + b * cols + k] : 0f);
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
