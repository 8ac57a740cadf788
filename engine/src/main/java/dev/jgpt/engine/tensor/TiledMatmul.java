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
 * at a time with the tokens in the outer loop (slower).
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
