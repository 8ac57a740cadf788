package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

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
 * are bit-identical to llama.cpp's.
 *
 * <p>Prompt batches (n &gt; 1) form the lane sums with float multiplies and adds: every product of two
 * int8 values and every sum of up to 32 of them is an integer below 2^24 in magnitude, so float arithmetic
 * on them is exact in any order and gives the same lane sums as int32 arithmetic. The activations are also
 * stored as floats split by byte: block b's value 4j+k sits at {@code x[b*32 + k*8 + j]}, so that "byte k
 * of every lane" is one 8-float run. A group of weight rows (16 KB of floats) is converted once per batch:
 * each block's 32 bytes permuted into the split order (one byte shuffle) and widened to floats. Tokens
 * then go in pairs sharing each block's weight loads; per token and block that is two 16-float
 * multiply-adds (bytes k = 0, 1 and k = 2, 3 of the 8 lanes), a fold of the two 8-lane halves and one
 * fused multiply-add with the scales, while the tokens' activations stay in L1 across the group's rows.
 *
 * <p>A single token (n = 1) reads each weight block once, so nothing is gained by converting it first;
 * there the integer kernel measured faster: the block's bytes widen to one 512-bit vector of shorts,
 * multiply the activations' shorts (each product fits a short), and neighbouring products are added
 * inside wider lanes (pairs within each int, then pairs of ints within each long).
 *
 * <p>CPUs without 512-bit vectors (or {@code -Djgpt.vectorBits=256}) take the narrow kernel for every n:
 * byte k of each 32-bit lane of 4 weight bytes is isolated by shifts, converted to float and
 * fused-multiply-added with the activations' k-th 8-float run (as fast as multiplying as ints, with one
 * activation layout for both kernels).
 *
 * <p>Measured alternatives that were slower with C2 (JDK 25): the float kernel for single tokens (the
 * byte shuffle and two conversions per block cost ~15% more than the short products); converting one row
 * at a time for a batch (the activations of 64 tokens then stream from L2 for every row); tiles of 2-8
 * rows or 4 tokens sharing loads; converting a row's scales with vector ops up front.
 */
final class Q8_0Activations {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F16 = FloatVector.SPECIES_512;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    /** Whether the 512-bit kernel may run here ({@link VectorWidth}: CPU, -Djgpt.vectorBits, -Djgpt.simd). */
    static final boolean WIDE_SUPPORTED = VectorWidth.BITS >= 512;
    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 34;
    /** Floats of converted weight rows a thread keeps for a prompt batch (16 KB: a third of L1d). */
    private static final int GROUP_FLOATS = 4096;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Weight byte 4j+k of a block goes to position k*8+j, the activations' split order. */
    private static final VectorShuffle<Byte> SPLIT = VectorShuffle.fromOp(BYTES, i -> (i & 7) * 4 + (i >> 3));
    /** Swap the two 8-lane halves of a 16-lane vector, then groups of 4 and of 2 lanes (the sum's folds). */
    private static final VectorShuffle<Float> SWAP_HALVES = VectorShuffle.fromOp(F16, i -> i ^ 8);
    private static final VectorShuffle<Float> SWAP_FOURS = VectorShuffle.fromOp(F16, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP_TWOS = VectorShuffle.fromOp(F16, i -> i ^ 2);

    private final boolean wide;
    /** Wide kernel, single token: the quantized values in their natural order, in [-127, 127]. */
    private short[] q = new short[0];
    /** Quantized values in [-127, 127] as floats: block b's value 4j+k sits at {@code x[b*32 + k*8 + j]}. */
    private float[] x = new float[0];
    /** Each block's scale, already rounded to F16 as llama.cpp stores it. */
    private float[] d = new float[0];

    // The product in progress, written before MatrixOps publishes the job to its threads.
    private MemorySegment jobWeights;
    private float[] jobOut;
    private int jobTokens;
    private int jobRows;
    private int jobBlocks;
    private final MatrixOps.RowTask rowTask = this::multiplyRows;
    /** Per pool thread: the weight rows it is multiplying with a batch of tokens, converted to floats. */
    private static final ThreadLocal<RowScratch> ROW_SCRATCH = ThreadLocal.withInitial(RowScratch::new);

    /** Weight rows as floats: each block's scale, and its 32 values permuted into the split order. */
    private static final class RowScratch {
        float[] scales = new float[0];
        float[] values = new float[0];

        void ensure(int blocks) {
            if (scales.length < blocks) {
                scales = new float[blocks];
                values = new float[blocks * BLOCK];
            }
        }
    }

    /** Activations for the widest kernel this machine supports. */
    Q8_0Activations() {
        this(WIDE_SUPPORTED);
    }

    /** Activations for the 512-bit kernel ({@code wide}) or the 256-bit one; both give the same bits. */
    Q8_0Activations(boolean wide) {
        this.wide = wide;
    }

    /** True if llama.cpp multiplies weights of this type with Q8_0 activations through these kernels. */
    static boolean handles(GgmlType weightType) {
        return weightType == GgmlType.Q8_0;
    }

    /**
     * Quantizes {@code len} floats (whole blocks) like the AVX build of {@code quantize_row_q8_0}: the
     * multiplier is {@code 127/amax} (not {@code 1/d}) and rounding is to nearest-even.
     */
    void quantize(float[] src, int len) {
        int blocks = len / BLOCK;
        if (d.length < blocks) {
            d = new float[blocks];
            x = new float[len];
            if (wide) {
                q = new short[len];
            }
        }
        for (int b = 0; b < blocks; b++) {
            int o = b * BLOCK;
            float amax = 0f;
            for (int i = 0; i < BLOCK; i++) {
                amax = Math.max(amax, Math.abs(src[o + i]));
            }
            d[b] = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            for (int i = 0; i < BLOCK; i++) {
                float v = (float) Math.rint(src[o + i] * id);
                x[o + (i & 3) * 8 + (i >> 2)] = v;
                if (wide) {
                    q[o + i] = (short) v;
                }
            }
        }
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]} for the {@code n} rows of {@code cols} values quantized last,
     * with W a Q8_0 matrix of {@code rows} rows. Not for concurrent calls on one instance.
     */
    void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
        jobWeights = w.data();
        jobOut = out;
        jobTokens = n;
        jobRows = rows;
        jobBlocks = cols / BLOCK;
        try {
            MatrixOps.shared().forRows(rows, (long) rows * n * cols, rowTask);
        } finally {
            jobWeights = null;
            jobOut = null;
        }
    }

    private void multiplyRows(int from, int to) {
        MemorySegment w = jobWeights;
        float[] out = jobOut;
        int n = jobTokens;
        int rows = jobRows;
        int blocks = jobBlocks;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        if (wide && n > 1) {
            // a group of rows is converted once; each token's activations then stay in L1 across the group
            int group = Math.max(1, GROUP_FLOATS / (blocks * BLOCK));
            RowScratch scratch = ROW_SCRATCH.get();
            scratch.ensure(group * blocks);
            for (int r0 = from; r0 < to; r0 += group) {
                int g = Math.min(group, to - r0);
                for (int i = 0; i < g; i++) {
                    convertRow(w, (r0 + i) * rowBytes, blocks, scratch.scales, scratch.values, i * blocks);
                }
                int t = 0;
                for (; t + 1 < n; t += 2) {
                    for (int i = 0; i < g; i++) {
                        dotConvertedPair(scratch.scales, scratch.values, i * blocks, t * blocks, blocks, out,
                                t * rows + r0 + i, rows);
                    }
                }
                for (; t < n; t++) {
                    for (int i = 0; i < g; i++) {
                        out[t * rows + r0 + i] = dotConverted(scratch.scales, scratch.values, i * blocks,
                                t * blocks, blocks);
                    }
                }
            }
            return;
        }
        for (int r = from; r < to; r++) {
            for (int t = 0; t < n; t++) {
                out[t * rows + r] = wide ? dotRow(w, r * rowBytes, t * blocks, blocks)
                        : dotRowNarrow(w, r * rowBytes, t * blocks, blocks);
            }
        }
    }

    /** A block's 32 weight bytes, permuted into the split order (bytes k*8+j = original 4j+k). */
    private static ByteVector splitBytes(MemorySegment w, long base) {
        return ByteVector.fromMemorySegment(BYTES, w, base + 2, ByteOrder.LITTLE_ENDIAN).rearrange(SPLIT);
    }

    /**
     * The row's scales and split-order weight values as floats, for {@link #dotConverted}, stored from
     * block {@code at} of the scratch arrays on.
     */
    private static void convertRow(MemorySegment w, long base, int blocks, float[] scales, float[] values,
                                   int at) {
        for (int b = at; b < at + blocks; b++, base += BLOCK_BYTES) {
            scales[b] = Float.float16ToFloat(w.get(SHORT_LE, base));
            ByteVector wb = splitBytes(w, base);
            ((FloatVector) wb.convertShape(VectorOperators.B2F, F16, 0)).intoArray(values, b * BLOCK);
            ((FloatVector) wb.convertShape(VectorOperators.B2F, F16, 1)).intoArray(values, b * BLOCK + 16);
        }
    }

    /** {@link #dotRow} over a row converted by {@link #convertRow} to scratch block {@code at}. */
    private float dotConverted(float[] scales, float[] values, int at, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F16);
        for (int b = 0; b < blocks; b++) {
            int wo = (at + b) * BLOCK;
            FloatVector w01 = FloatVector.fromArray(F16, values, wo);
            FloatVector w23 = FloatVector.fromArray(F16, values, wo + 16);
            acc = accumulate(w01, w23, (firstBlock + b) * BLOCK, scales[at + b] * d[firstBlock + b], acc);
        }
        return hsumWide(acc);
    }

    /** {@link #dotConverted} for two consecutive tokens sharing the weight loads: out[o] and out[o + rows]. */
    private void dotConvertedPair(float[] scales, float[] values, int at, int firstBlock, int blocks,
                                  float[] out, int o, int rows) {
        FloatVector acc0 = FloatVector.zero(F16);
        FloatVector acc1 = FloatVector.zero(F16);
        for (int b = 0; b < blocks; b++) {
            int wo = (at + b) * BLOCK;
            FloatVector w01 = FloatVector.fromArray(F16, values, wo);
            FloatVector w23 = FloatVector.fromArray(F16, values, wo + 16);
            float dw = scales[at + b];
            acc0 = accumulate(w01, w23, (firstBlock + b) * BLOCK, dw * d[firstBlock + b], acc0);
            acc1 = accumulate(w01, w23, (firstBlock + blocks + b) * BLOCK, dw * d[firstBlock + blocks + b], acc1);
        }
        out[o] = hsumWide(acc0);
        out[o + rows] = hsumWide(acc1);
    }

    /** The single-token wide kernel: the weight row at {@code base} times the activations' short values. */
    private float dotRow(MemorySegment w, long base, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            ShortVector xs = ShortVector.fromArray(SHORTS, q, (firstBlock + b) * BLOCK);
            acc = accumulateBlock(w, base, xs, d[firstBlock + b], acc);
        }
        return hsum(acc);
    }

    /**
     * {@code acc + laneSums * scale}: {@code w01}/{@code w23} hold the block's weights for bytes k = 0, 1
     * and k = 2, 3 of the 8 lanes, matching the activations at {@code xo}. Their products summed per lane
     * are exact integers; the halves' fold leaves the 8 lane sums in both halves, and one fused
     * multiply-add per lane adds them to the accumulators (lanes 0-7 are the ones summed at the end).
     */
    private FloatVector accumulate(FloatVector w01, FloatVector w23, int xo, float scale, FloatVector acc) {
        FloatVector s = w23.fma(FloatVector.fromArray(F16, x, xo + 16),
                w01.mul(FloatVector.fromArray(F16, x, xo)));
        FloatVector lanes = s.add(s.rearrange(SWAP_HALVES));
        return lanes.fma(FloatVector.broadcast(F16, scale), acc);
    }

    private float dotRowNarrow(MemorySegment w, long base, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            IntVector wv = IntVector.fromMemorySegment(I8, w, base + 2, ByteOrder.LITTLE_ENDIAN);
            int xo = (firstBlock + b) * BLOCK;
            // byte k of each little-endian int lane, sign-extended: shift it to the top, then back down
            FloatVector sum = byteAsFloat(wv, 0).mul(FloatVector.fromArray(F8, x, xo));
            for (int k = 1; k < 4; k++) {
                sum = byteAsFloat(wv, k).fma(FloatVector.fromArray(F8, x, xo + k * 8), sum);
            }
            float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            acc = sum.fma(FloatVector.broadcast(F8, scale), acc);
        }
        return hsum(acc);
    }

    /** Byte {@code k} of each little-endian int lane, sign-extended and converted to float. */
    private static FloatVector byteAsFloat(IntVector lanes, int k) {
        return (FloatVector) lanes.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 24)
                .convert(VectorOperators.I2F, 0);
    }

    /** {@code acc + laneSums(weight block at base, xs) * (d_w * dx)}, one fused multiply-add per lane. */
    private static FloatVector accumulateBlock(MemorySegment w, long base, ShortVector xs, float dx,
                                               FloatVector acc) {
        ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(BYTES, w, base + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, SHORTS, 0);
        float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * dx;
        return laneSums(wv.mul(xs)).fma(FloatVector.broadcast(F8, scale), acc);
    }

    /**
     * Lane j = sum of the 32 products' elements 4j..4j+3, exactly. Adding a lane to itself shifted left by
     * half its width puts the sum of its two halves in the upper half (nothing carries out of the zeroed
     * lower half); an arithmetic shift brings it down sign-extended. Pair sums of int8 x int8 products
     * with one factor in [-127, 127] stay within a short, so this is exact.
     */
    private static FloatVector laneSums(ShortVector products) {
        IntVector p = products.reinterpretAsInts();
        IntVector pairs = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
        LongVector l = pairs.reinterpretAsLongs();
        LongVector quads = l.add(l.lanewise(VectorOperators.LSHL, 32)).lanewise(VectorOperators.ASHR, 32);
        return (FloatVector) quads.convertShape(VectorOperators.L2F, F8, 0);
    }

    private static float hsum(FloatVector acc) {
        return LlamaCppMath.hsum8(acc.lane(0), acc.lane(1), acc.lane(2), acc.lane(3),
                acc.lane(4), acc.lane(5), acc.lane(6), acc.lane(7));
    }

    /**
     * {@link LlamaCppMath#hsum8} of lanes 0-7 of a 16-lane accumulator, in vector form: lane i of the
     * first fold is l_i + l_(i+4), lane i of the second (l_i + l_(i+4)) + (l_(i+2) + l_(i+6)), and its
     * lanes 0 and 1 are the tree's two halves (fewer instructions than extracting 8 lanes of 512 bits).
     */
    private static float hsumWide(FloatVector acc) {
        FloatVector fours = acc.add(acc.rearrange(SWAP_FOURS));
        FloatVector twos = fours.add(fours.rearrange(SWAP_TWOS));
        return twos.lane(0) + twos.lane(1);
    }
}
