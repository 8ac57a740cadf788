package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/** IEEE half-precision elements. */
public final class F16Tensor extends FloatTensor {
    F16Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        return f16ToFloat(data.get(SHORT_LE, index * 2));
    }

    /**
     * A plain loop over {@link Float#float16ToFloat}: C2 vectorizes it (one Zen 5 thread, 1024 halves in L2:
     * 33 ns, against 45 ns for {@link #halfToFloat} on vectors of {@link #LANES}).
     */
    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * 2;
        for (int i = 0; i < nBlocks; i++) {
            out[outOffset + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
        }
    }

    /**
     * Two accumulators, one 64-byte line of halves per iteration (with 16 lanes). On one Zen 5 thread
     * streaming weights from DRAM (F16Throughput) this took a 1024-wide row from 220-250 to 88-94 ns of CPU
     * time and a 2816-wide one from 435-455 to 235-255 ns; the single-accumulator loop before it waited on
     * the latency of its chain of FMAs. A 4-accumulator version was as slow as the single one.
     */
    @Override
    float dotBlocks(long offset, int n, float[] x, int xOffset) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        long byteOffset = offset * 2;
        for (int upper = n - n % (2 * LANES); i < upper; i += 2 * LANES) {
            acc0 = halfToFloat(Simd.shortsToInts(data, byteOffset + i * 2L))
                    .fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = halfToFloat(Simd.shortsToInts(data, byteOffset + (i + LANES) * 2L))
                    .fma(FloatVector.fromArray(F, x, xOffset + i + LANES), acc1);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, byteOffset + i * 2L)) * x[xOffset + i];
        }
        return sum;
    }

    /** Rows up to this long are converted 4 at a time by {@link #dotRows} (16 KB of floats). */
    static final int CONVERTED_COLS = 1024;
    /**
     * Whether {@link #dotRows} takes rows of up to {@link #EIGHT_ROWS_COLS} halves 8 at a time (at most 16 KB
     * of converted rows, in L1), unless {@code -Djgpt.f16.eightRows=false} says otherwise. Same bits as 4 at a
     * time.
     * <ul>
     * <li>One Intel Xeon (Emerald Rapids) thread, tiny-qwen3-f16's 32000 x 256 output, µs per product
     * (alternating runs): 729 -> 671-693; two threads 386-400 -> 355-367. Its decoding on two threads, 16-token
     * prompt, 3 rounds of one run without and two with: 1 802-1 824 -> 1 936-1 964 tokens/s (inlined into
     * {@code dotRows} rather than in {@link #dotEightRows}, one run of fourteen fell to 949).</li>
     * <li>AMD Zen 5, tiny-qwen3-f16's decoding on two threads ({@code jgpt bench}, 8 alternating pairs):
     * 1 543-1 677 tokens/s (median 1 585) without, 1 582-1 709 (median 1 652) with; after the batch, one run of
     * the 8 with it fell to 1 021 (the others 1 602-1 809, without 1 430-1 686).</li>
     * <li>1024 columns 8 at a time (bench-llama-f16's decoding, weights from DRAM, Emerald Rapids): 37.2-37.6
     * against 36.5-37.7, no gain.</li>
     * </ul>
     */
    private static final boolean EIGHT_ROWS = Boolean.parseBoolean(System.getProperty("jgpt.f16.eightRows", "true"));
    /** Rows up to this long go 8 at a time in {@link #dotRows} ({@link #EIGHT_ROWS}). */
    static final int EIGHT_ROWS_COLS = 512;

    /** Floats of scratch {@link #dotRows} needs for rows of {@code cols} halves. */
    static int dotRowsScratch(int cols) {
        int rows = EIGHT_ROWS && cols <= EIGHT_ROWS_COLS ? 8 : 4;
        return rows * Math.min(cols, CONVERTED_COLS);
    }
    /** Rows up to this long are converted one at a time by {@link #dotRows} (its scratch holds 4 short rows). */
    private static final int ROW_COLS = 4 * CONVERTED_COLS;

    /**
     * {@link #dot} of rows {@code r0..r1} of {@code cols} halves each (from the tensor's start) with
     * {@code x[xOffset..]}, into {@code out[outOffset + r]}, for weights that stay in the caches: rows up to
     * {@link #CONVERTED_COLS} long go 4 at a time (8 at a time up to {@link #EIGHT_ROWS_COLS} on Intel CPUs),
     * first converted into {@code row} from index {@code ro} on (at least {@link #dotRowsScratch} floats; an
     * {@code ro} that puts them on a 64-byte boundary keeps each vector in one cache line, see
     * {@link MatrixOps#ALIGNED_SCRATCH}) by a plain loop that C2
     * vectorizes into conversion instructions (cheaper than {@link #halfToFloat}'s bit manipulation), then
     * multiplied with {@link #dotBlocks}' two accumulators per row sharing each load of {@code x}; longer rows
     * (up to 4 times that) and the leftover ones are converted one at a time, and rows longer still take
     * {@link #dotBlocks}. One Zen 5 thread, weights in the caches, ns per row: 768 x 256 31 -> 18, 256 x 768
     * 69 -> 44, 1024 x 1024 90 -> 68. Streamed from DRAM, converting first was slower
     * (one thread, 1024 columns: 102 -> 142 ns per row; a 24-layer, 1024-wide model's decoding on two
     * threads: ~50 -> ~14 tokens/s), which is why only cache-resident models take this path there (see
     * {@link MatrixOps#matmul}). On an Intel Xeon (Emerald Rapids) it is the faster one from DRAM too, where
     * {@link #halfToFloat}'s 512-bit shifts share one port (bench-llama-f16's decoding on two threads: 15-17
     * -> 25-26 tokens/s), so there streamed models take it as well.
     */
    void dotRows(int r0, int r1, int cols, float[] x, int xOffset, float[] out, int outOffset, float[] row,
                 int ro) {
        int step = 2 * LANES;
        int upper = cols - cols % step;
        int r = r0;
        if (EIGHT_ROWS && cols <= EIGHT_ROWS_COLS) {
            r = dotEightRows(r0, r1, cols, x, xOffset, out, outOffset, row, ro);
        }
        if (cols <= CONVERTED_COLS) {
            for (; r + 3 < r1; r += 4) {
                long base = (long) r * cols * 2;
                int all = 4 * cols;
                for (int i = 0; i < all; i++) {
                    row[ro + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
                }
                int c1 = cols;
                int c2 = 2 * cols;
                int c3 = 3 * cols;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector b0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector b1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector b2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                FloatVector b3 = FloatVector.zero(F);
                for (int i = 0; i < upper; i += step) {
                    FloatVector xa = FloatVector.fromArray(F, x, xOffset + i);
                    FloatVector xb = FloatVector.fromArray(F, x, xOffset + i + LANES);
                    a0 = FloatVector.fromArray(F, row, ro + i).fma(xa, a0);
                    b0 = FloatVector.fromArray(F, row, ro + i + LANES).fma(xb, b0);
                    a1 = FloatVector.fromArray(F, row, ro + c1 + i).fma(xa, a1);
                    b1 = FloatVector.fromArray(F, row, ro + c1 + i + LANES).fma(xb, b1);
                    a2 = FloatVector.fromArray(F, row, ro + c2 + i).fma(xa, a2);
                    b2 = FloatVector.fromArray(F, row, ro + c2 + i + LANES).fma(xb, b2);
                    a3 = FloatVector.fromArray(F, row, ro + c3 + i).fma(xa, a3);
                    b3 = FloatVector.fromArray(F, row, ro + c3 + i + LANES).fma(xb, b3);
                }
                float s0 = a0.add(b0).reduceLanes(VectorOperators.ADD);
                float s1 = a1.add(b1).reduceLanes(VectorOperators.ADD);
                float s2 = a2.add(b2).reduceLanes(VectorOperators.ADD);
                float s3 = a3.add(b3).reduceLanes(VectorOperators.ADD);
                for (int i = upper; i < cols; i++) {
                    float xi = x[xOffset + i];
                    s0 += row[ro + i] * xi;
                    s1 += row[ro + c1 + i] * xi;
                    s2 += row[ro + c2 + i] * xi;
                    s3 += row[ro + c3 + i] * xi;
                }
                out[outOffset + r] = s0;
                out[outOffset + r + 1] = s1;
                out[outOffset + r + 2] = s2;
                out[outOffset + r + 3] = s3;
            }
        }
        // longer rows and the leftover ones one at a time, converted first too while a row fits in row: a
        // call to dotBlocks from here was at times compiled without the Vector API's intrinsics (its
        // conversions ran in Java: bench-llama-f16's decoding at ~10 tokens/s in jgpt bench against ~25 in
        // another process); the same two accumulators and order as dotBlocks, so the same bits
        for (; r < r1; r++) {
            if (cols > ROW_COLS) {
                out[outOffset + r] = dotBlocks((long) r * cols, cols, x, xOffset);
                continue;
            }
            long base = (long) r * cols * 2;
            for (int i = 0; i < cols; i++) {
                row[ro + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
            }
            FloatVector a = FloatVector.zero(F);
            FloatVector b = FloatVector.zero(F);
            for (int i = 0; i < upper; i += step) {
                a = FloatVector.fromArray(F, row, ro + i).fma(FloatVector.fromArray(F, x, xOffset + i), a);
                b = FloatVector.fromArray(F, row, ro + i + LANES)
                        .fma(FloatVector.fromArray(F, x, xOffset + i + LANES), b);
            }
            float sum = a.add(b).reduceLanes(VectorOperators.ADD);
            for (int i = upper; i < cols; i++) {
                sum += row[ro + i] * x[xOffset + i];
            }
            out[outOffset + r] = sum;
        }
    }

    /**
     * {@link #dotRows}' rows from {@code r} on, 8 at a time while 8 are left ({@link #EIGHT_ROWS}); returns the
     * first row not done. A method of its own, so that C2 compiles it apart from {@code dotRows}' other loops.
     */
    private int dotEightRows(int r, int r1, int cols, float[] x, int xOffset, float[] out, int outOffset,
                             float[] row, int ro) {
        int step = 2 * LANES;
        int upper = cols - cols % step;
        // short rows 8 at a time: twice the halves per conversion loop, 16 accumulators sharing each load of x
        for (; r + 7 < r1; r += 8) {
            long base = (long) r * cols * 2;
            int all = 8 * cols;
            for (int i = 0; i < all; i++) {
                row[ro + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
            }
            FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            FloatVector a4 = a0, b4 = a0, a5 = a0, b5 = a0, a6 = a0, b6 = a0, a7 = a0, b7 = a0;
            for (int i = 0; i < upper; i += step) {
                FloatVector xa = FloatVector.fromArray(F, x, xOffset + i);
                FloatVector xb = FloatVector.fromArray(F, x, xOffset + i + LANES);
                a0 = FloatVector.fromArray(F, row, ro + i).fma(xa, a0);
                b0 = FloatVector.fromArray(F, row, ro + i + LANES).fma(xb, b0);
                a1 = FloatVector.fromArray(F, row, ro + cols + i).fma(xa, a1);
                b1 = FloatVector.fromArray(F, row, ro + cols + i + LANES).fma(xb, b1);
                a2 = FloatVector.fromArray(F, row, ro + 2 * cols + i).fma(xa, a2);
                b2 = FloatVector.fromArray(F, row, ro + 2 * cols + i + LANES).fma(xb, b2);
                a3 = FloatVector.fromArray(F, row, ro + 3 * cols + i).fma(xa, a3);
                b3 = FloatVector.fromArray(F, row, ro + 3 * cols + i + LANES).fma(xb, b3);
                a4 = FloatVector.fromArray(F, row, ro + 4 * cols + i).fma(xa, a4);
                b4 = FloatVector.fromArray(F, row, ro + 4 * cols + i + LANES).fma(xb, b4);
                a5 = FloatVector.fromArray(F, row, ro + 5 * cols + i).fma(xa, a5);
                b5 = FloatVector.fromArray(F, row, ro + 5 * cols + i + LANES).fma(xb, b5);
                a6 = FloatVector.fromArray(F, row, ro + 6 * cols + i).fma(xa, a6);
                b6 = FloatVector.fromArray(F, row, ro + 6 * cols + i + LANES).fma(xb, b6);
                a7 = FloatVector.fromArray(F, row, ro + 7 * cols + i).fma(xa, a7);
                b7 = FloatVector.fromArray(F, row, ro + 7 * cols + i + LANES).fma(xb, b7);
            }
            out[outOffset + r] = rowTail(a0.add(b0).reduceLanes(VectorOperators.ADD), row, ro, x, xOffset, upper, cols);
            out[outOffset + r + 1] = rowTail(a1.add(b1).reduceLanes(VectorOperators.ADD), row, ro + cols, x, xOffset,
                    upper, cols);
            out[outOffset + r + 2] = rowTail(a2.add(b2).reduceLanes(VectorOperators.ADD), row, ro + 2 * cols, x,
                    xOffset, upper, cols);
            out[outOffset + r + 3] = rowTail(a3.add(b3).reduceLanes(VectorOperators.ADD), row, ro + 3 * cols, x,
                    xOffset, upper, cols);
            out[outOffset + r + 4] = rowTail(a4.add(b4).reduceLanes(VectorOperators.ADD), row, ro + 4 * cols, x,
                    xOffset, upper, cols);
            out[outOffset + r + 5] = rowTail(a5.add(b5).reduceLanes(VectorOperators.ADD), row, ro + 5 * cols, x,
                    xOffset, upper, cols);
            out[outOffset + r + 6] = rowTail(a6.add(b6).reduceLanes(VectorOperators.ADD), row, ro + 6 * cols, x,
                    xOffset, upper, cols);
            out[outOffset + r + 7] = rowTail(a7.add(b7).reduceLanes(VectorOperators.ADD), row, ro + 7 * cols, x,
                    xOffset, upper, cols);
        }
        return r;
    }

    /** {@code sum} plus the products of columns {@code [upper, cols)} of the converted row at {@code at}. */
    private static float rowTail(float sum, float[] row, int at, float[] x, int xOffset, int upper, int cols) {
        for (int i = upper; i < cols; i++) {
            sum += row[at + i] * x[xOffset + i];
        }
        return sum;
    }

    /**
     * {@link #dotRows2x8} for one row: a chunk's odd last row, which thereby sums in the same order as the
     * others (with the tiles it had summed in {@link Simd#dot}'s order, so results depended on where chunks
     * ended).
     */
    void dotRow1x8(int r, int cols, float[] x, int t0, float[] out, int outRows) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        long base = (long) r * cols * 2;
        int x0 = t0 * cols;
        for (int k = 0; k < cols; k += LANES) {
            FloatVector u = halfToFloat(Simd.shortsToInts(data, base + 2L * k));
            int o = x0 + k;
            a0 = u.fma(FloatVector.fromArray(F, x, o), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, o + cols), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, o + 2 * cols), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, o + 3 * cols), a3);
            a4 = u.fma(FloatVector.fromArray(F, x, o + 4 * cols), a4);
            a5 = u.fma(FloatVector.fromArray(F, x, o + 5 * cols), a5);
            a6 = u.fma(FloatVector.fromArray(F, x, o + 6 * cols), a6);
            a7 = u.fma(FloatVector.fromArray(F, x, o + 7 * cols), a7);
        }
        int o = t0 * outRows + r;
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + outRows] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 2 * outRows] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 3 * outRows] = a3.reduceLanes(VectorOperators.ADD);
        out[o + 4 * outRows] = a4.reduceLanes(VectorOperators.ADD);
        out[o + 5 * outRows] = a5.reduceLanes(VectorOperators.ADD);
        out[o + 6 * outRows] = a6.reduceLanes(VectorOperators.ADD);
        out[o + 7 * outRows] = a7.reduceLanes(VectorOperators.ADD);
    }

    /**
     * How many of a batch's tokens {@link #dotRows2x8} takes over rows of {@code cols} halves: whole groups of
     * 8, with whole vectors of columns and 16 lanes (its 16 accumulators, two rows and the conversion's
     * constants need AVX-512's 32 registers); 0 where it does not.
     */
    static int directTokens(int batch, int cols) {
        return Simd.ENABLED && LANES == 16 && cols % LANES == 0 ? batch / 8 * 8 : 0;
    }

    /**
     * {@link #dotRows2x8} on rows {@code r} and {@code r + 1} converted by {@link #dequantizeBlocks}
     * ({@code row[0..]} and {@code row[cols..]}): the same multiply-adds in the same order, so the same bits, without
     * {@link #halfToFloat}'s bit operations, which take the same two vector ports as the multiply-adds on Intel
     * cores and cost an assist whenever a vector holds a subnormal half (its float is multiplied by 2^112).
     * See {@code MatrixOps.CONVERT_F16_BATCH}.
     */
    static void dotConverted2x8(float[] row, int r, int cols, float[] x, int t0, float[] out, int outRows) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        int x0 = t0 * cols;
        for (int k = 0; k < cols; k += LANES) {
            FloatVector u = FloatVector.fromArray(F, row, k);
            FloatVector v = FloatVector.fromArray(F, row, cols + k);
            int o = x0 + k;
            FloatVector t = FloatVector.fromArray(F, x, o);
            a0 = u.fma(t, a0);
            b0 = v.fma(t, b0);
            t = FloatVector.fromArray(F, x, o + cols);
            a1 = u.fma(t, a1);
            b1 = v.fma(t, b1);
            t = FloatVector.fromArray(F, x, o + 2 * cols);
            a2 = u.fma(t, a2);
            b2 = v.fma(t, b2);
            t = FloatVector.fromArray(F, x, o + 3 * cols);
            a3 = u.fma(t, a3);
            b3 = v.fma(t, b3);
            t = FloatVector.fromArray(F, x, o + 4 * cols);
            a4 = u.fma(t, a4);
            b4 = v.fma(t, b4);
            t = FloatVector.fromArray(F, x, o + 5 * cols);
            a5 = u.fma(t, a5);
            b5 = v.fma(t, b5);
            t = FloatVector.fromArray(F, x, o + 6 * cols);
            a6 = u.fma(t, a6);
            b6 = v.fma(t, b6);
            t = FloatVector.fromArray(F, x, o + 7 * cols);
            a7 = u.fma(t, a7);
            b7 = v.fma(t, b7);
        }
        int o = t0 * outRows + r;
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b0.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b1.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b2.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a3.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b3.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a4.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b4.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a5.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b5.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a6.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b6.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a7.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b7.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Rows {@code r} and {@code r + 1} (of {@code cols} halves) times the 8 tokens {@code x[t0 * cols ..]}
     * ({@code cols} apart), into {@code out[t * outRows + r]}, for weights in the caches: the halves are
     * converted in registers and each pair of rows multiplied with the 8 tokens, where {@link TiledMatmul}
     * first stores 4 dequantized rows and then reads them once per 4 tokens. Every output is one accumulator
     * over the columns reduced at the end, the order of {@link TiledMatmul#multiply}'s 4 x 4 tiles. One Zen 5
     * thread, 8 tokens, ns per row and token (alternating in one JVM): 256 x 1024 17.6-17.9 -> 14.9-15.1,
     * 1024 x 256 4.8-5.0 -> 4.7; tiny-qwen3-f16's 8 sequences on two threads, alternating runs: 4 773-5 262
     * -> 5 985-6 355 tokens/s. Not for weights streamed from DRAM: its loads of the weights then wait among
     * the multiply-adds (a 24-layer, 1024-wide F16 Llama's matrices, 8 tokens, one thread: 70 -> 105 ms),
     * where dequantizing a tile streams it in one tight loop.
     */
    void dotRows2x8(int r, int cols, float[] x, int t0, float[] out, int outRows) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        long base = (long) r * cols * 2;
        long next = base + 2L * cols;
        int x0 = t0 * cols;
        for (int k = 0; k < cols; k += LANES) {
            FloatVector u = halfToFloat(Simd.shortsToInts(data, base + 2L * k));
            FloatVector v = halfToFloat(Simd.shortsToInts(data, next + 2L * k));
            int o = x0 + k;
            FloatVector t = FloatVector.fromArray(F, x, o);
            a0 = u.fma(t, a0);
            b0 = v.fma(t, b0);
            t = FloatVector.fromArray(F, x, o + cols);
            a1 = u.fma(t, a1);
            b1 = v.fma(t, b1);
            t = FloatVector.fromArray(F, x, o + 2 * cols);
            a2 = u.fma(t, a2);
            b2 = v.fma(t, b2);
            t = FloatVector.fromArray(F, x, o + 3 * cols);
            a3 = u.fma(t, a3);
            b3 = v.fma(t, b3);
            t = FloatVector.fromArray(F, x, o + 4 * cols);
            a4 = u.fma(t, a4);
            b4 = v.fma(t, b4);
            t = FloatVector.fromArray(F, x, o + 5 * cols);
            a5 = u.fma(t, a5);
            b5 = v.fma(t, b5);
            t = FloatVector.fromArray(F, x, o + 6 * cols);
            a6 = u.fma(t, a6);
            b6 = v.fma(t, b6);
            t = FloatVector.fromArray(F, x, o + 7 * cols);
            a7 = u.fma(t, a7);
            b7 = v.fma(t, b7);
        }
        int o = t0 * outRows + r;
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b0.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b1.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b2.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a3.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b3.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a4.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b4.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a5.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b5.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a6.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b6.reduceLanes(VectorOperators.ADD);
        o += outRows;
        out[o] = a7.reduceLanes(VectorOperators.ADD);
        out[o + 1] = b7.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Half to float without a conversion instruction (the Vector API has none), for halves sign-extended
     * to ints: shifting left by 13 puts the sign in bit 31 and exponent and mantissa in float position;
     * multiplying by 2^112 then rebiases the exponent and makes subnormals normal, exactly. Infinities and
     * NaNs (all-ones exponent) get the float's all-ones exponent back.
     */
    static FloatVector halfToFloat(IntVector h) {
        FloatVector scaled = h.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000).reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = h.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        return scaled.reinterpretAsInts().lanewise(VectorOperators.OR, 0x7f800000, special).reinterpretAsFloats();
    }
}
