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
 * <p>The lane sums are formed without 32-bit multiplies: a block's 32 weight bytes widen to one 512-bit
 * vector of shorts, multiply the activations' shorts (each product fits a short), and neighbouring
 * products are then added inside wider lanes (pairs within each int, then pairs of ints within each long).
 * Integer sums are exact in any order, so this yields the same 8 lane sums with fewer and cheaper
 * instructions than widening bytes to ints and multiplying those (vpmulld). For a prompt batch, each
 * weight row is taken once for all tokens: it stays in L1 while the tokens pass over it, and its F16
 * scales are converted once (per block and token, that conversion costs about as much as the lane sums).
 *
 * <p>CPUs without 512-bit vectors (or {@code -Djgpt.vectorBits=256}) take the narrow kernel instead: each
 * 32-bit lane of 4 weight bytes is split into its bytes by shifts and multiplied as ints, against
 * activations stored so that the k-th byte of every lane loads as one int vector.
 *
 * <p>Measured alternatives that were slower with C2 (JDK 25): tiles of 2-8 rows or 4 tokens sharing loads
 * (the bigger loop bodies lose more than the shared loads save), and converting a row's scales with vector
 * ops up front.
 */
final class Q8_0Activations {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    /** Whether the 512-bit kernel may run here ({@link VectorWidth}: CPU, -Djgpt.vectorBits, -Djgpt.simd). */
    static final boolean WIDE_SUPPORTED = VectorWidth.BITS >= 512;
    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 34;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final boolean wide;
    /** Wide kernel: quantized values in their natural order, in [-127, 127]. */
    private short[] q = new short[0];
    /** Narrow kernel: block b's byte 4j+k sits at {@code qSplit[b*32 + k*8 + j]}. */
    private int[] qSplit = new int[0];
    /** Each block's scale, already rounded to F16 as llama.cpp stores it. */
    private float[] d = new float[0];

    // The product in progress, written before MatrixOps publishes the job to its threads.
    private MemorySegment jobWeights;
    private float[] jobOut;
    private int jobTokens;
    private int jobRows;
    private int jobBlocks;
    private final MatrixOps.RowTask rowTask = this::multiplyRows;
    /** Per pool thread: the float weight scales of the row it is multiplying with a batch of tokens. */
    private static final ThreadLocal<float[]> ROW_SCALES = ThreadLocal.withInitial(() -> new float[0]);

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
    void quantize(float[] x, int len) {
        int blocks = len / BLOCK;
        if (d.length < blocks) {
            d = new float[blocks];
            if (wide) {
                q = new short[len];
            } else {
                qSplit = new int[len];
            }
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
                if (wide) {
                    q[o + i] = (short) v;
                } else {
                    qSplit[o + (i & 3) * 8 + (i >> 2)] = v;
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
            float[] dw = ROW_SCALES.get();
            if (dw.length < blocks) {
                dw = new float[blocks];
                ROW_SCALES.set(dw);
            }
            for (int r = from; r < to; r++) {
                // the row's scales are converted once for all tokens
                for (int b = 0; b < blocks; b++) {
                    dw[b] = Float.float16ToFloat(w.get(SHORT_LE, r * rowBytes + (long) b * BLOCK_BYTES));
                }
                for (int t = 0; t < n; t++) {
                    out[t * rows + r] = dotRowScaled(w, r * rowBytes, dw, t * blocks, blocks);
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

    /** {@link #dotRow} with the row's weight scales already converted to float in {@code dw}. */
    private float dotRowScaled(MemorySegment w, long base, float[] dw, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            ShortVector x = ShortVector.fromArray(SHORTS, q, (firstBlock + b) * BLOCK);
            ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(BYTES, w, base + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, SHORTS, 0);
            float scale = dw[b] * d[firstBlock + b];
            acc = laneSums(wv.mul(x)).fma(FloatVector.broadcast(F8, scale), acc);
        }
        return hsum(acc);
    }

    private float dotRow(MemorySegment w, long base, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            ShortVector x = ShortVector.fromArray(SHORTS, q, (firstBlock + b) * BLOCK);
            acc = accumulateBlock(w, base, x, d[firstBlock + b], acc);
        }
        return hsum(acc);
    }

    private float dotRowNarrow(MemorySegment w, long base, int firstBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            IntVector wv = IntVector.fromMemorySegment(I8, w, base + 2, ByteOrder.LITTLE_ENDIAN);
            int qo = (firstBlock + b) * BLOCK;
            // byte k of each little-endian int lane, sign-extended: shift it to the top, then back down
            IntVector sum = wv.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .mul(IntVector.fromArray(I8, qSplit, qo));
            for (int k = 1; k < 4; k++) {
                IntVector wk = wv.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 24);
                sum = sum.add(wk.mul(IntVector.fromArray(I8, qSplit, qo + k * 8)));
            }
            float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            FloatVector lanes = (FloatVector) sum.convert(VectorOperators.I2F, 0);
            acc = lanes.fma(FloatVector.broadcast(F8, scale), acc);
        }
        return hsum(acc);
    }

    /** {@code acc + laneSums(weight block at base, x) * (d_w * dx)}, one fused multiply-add per lane. */
    private static FloatVector accumulateBlock(MemorySegment w, long base, ShortVector x, float dx,
                                               FloatVector acc) {
        ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(BYTES, w, base + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, SHORTS, 0);
        float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * dx;
        return laneSums(wv.mul(x)).fma(FloatVector.broadcast(F8, scale), acc);
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
}
