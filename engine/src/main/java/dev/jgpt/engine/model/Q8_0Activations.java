package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.CpuVendor;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
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
 * are bit-identical to llama.cpp's. (They have to be: the same products summed in plain float order moved
 * the random-weight test models' log-probabilities by 0.08-0.16, over the 0.05 tolerance, because every
 * rounding difference that reaches the next layer's 8-bit activation quantizer is amplified.)
 *
 * <p>Batches ({@link #batchKernel}: 16 tokens or more) form the lane sums with
 * float multiplies and adds: every product of two int8 values and every sum of up to 32 of them is an
 * integer below 2^24 in magnitude, so float arithmetic on them is exact in any order and gives the same
 * lane sums as int32 arithmetic. The activations are stored
 * as floats split by byte (block b's value 4j+k at {@code x[b*32 + k*8 + j]}, so that "byte k of every
 * lane" is one 8-float run) and, for the batch kernel, two tokens side by side in 16-float vectors
 * ({@link #pairActivations}). A group of weight rows (16 KB of floats) is converted once per batch into
 * the same order, each 8-float run twice. Per block, four 16-float multiply-adds then give both tokens'
 * 8 lane sums at once, and one more adds them times both tokens' scales to their accumulators; tiles of
 * 4 rows x 2 token pairs ({@link #dotFourRowsTwoPairs}; 2 x 2 for leftover rows) share each activation load
 * four times and each weight load twice; the 4 x 2 tile ends with the 16 outputs' hsum8 done together in
 * three vector steps and stored 4 rows at a time (one output at a time through a Java array took as long as
 * the products on rows of 256 values: 512 x 256, n = 128, ~1.55 -> ~0.98 ns per block and token). The
 * buffers are native memory on 64-byte boundaries: 512-bit loads from Java arrays straddle cache lines.
 *
 * <p>A single token reads each weight block once, so nothing is gained by converting it first; there
 * (and for each token of a smaller batch) the integer kernel measured faster ({@link #dotRow}): the
 * block's 32 bytes, read as 16 shorts, split into their even and odd bytes by shifts; those multiply the
 * activations' even and odd values (shorts, in a Java array) and the two products add up within a short;
 * the two neighbouring shorts of each int then add up to lane j's exact sum. All in 256-bit vectors,
 * which are as fast as 512-bit ones on Zen 4 (it splits 512-bit operations in two) and needed about a
 * third fewer operations here than widening the bytes to one 512-bit vector of shorts did. Rows go 4 at
 * a time ({@link #dotFourRows}): one row's fused multiply-adds wait on each other, 4 rows' do not, and
 * the 4 share each block's activation loads (one thread on an Intel Xeon with AVX-512, ns per block:
 * 1024 x 1024 4.2 -> 3.3, 32000 x 256 4.7 -> 3.8 against the 64-row block-by-block kernel it replaced);
 * from 4 tokens on, each row goes with 4 tokens at a time instead ({@link #dotFourTokens}; on rows of an even
 * number of blocks two blocks at a time in 512-bit vectors, {@link #dotFourTokensPairs}), and from 8 tokens on
 * 8 at a time in the batch kernel's arithmetic, each weight block converted in registers, two rows at a time
 * ({@link #dotEightTokens}). On AMD CPUs,
 * weights streamed from DRAM go one row at a time ({@link #oneRowStreams}) and short rows in the caches
 * block by block across 64 rows ({@link #shortRowGroups}): both were faster there.
 *
 * <p>CPUs without 512-bit vectors (AVX2, or {@code -Djgpt.vectorBits=256}) take the 256-bit short-product
 * kernels for single tokens ({@link #dotRow}, {@link #dotFourRows}, {@link #dotShortRows}) and, for 4 or 5
 * tokens at a time, {@link #dotFourTokensFloat}: byte k of each 32-bit lane of 4 weight bytes is isolated by
 * shifts, converted to float once and fused-multiply-added with each token's k-th 8-float run of activations.
 * From 6 tokens on they take the batch kernel's arithmetic in 8-float vectors ({@link #multiplyRows8}).
 * Narrower vectors take that float arithmetic one token at a time ({@link #dotRowNarrow}).
 *
 * <p>Measured alternatives that were slower with C2 (JDK 25): the float kernel for single tokens (the
 * byte shuffle and two conversions per block cost ~15% more than the short products); converting one row
 * at a time for a batch (the activations of 64 tokens then stream from L2 for every row); converting a
 * row's scales with vector ops up front; the pair layout in Java arrays (unaligned: slower than the
 * earlier one-token-per-vector kernel); single tokens on two rows at once sharing the activation loads
 * for rows longer than 256 values (~15% slower on Zen 4; 4 rows were faster on the Intel Xeon); the
 * single-token activations in native memory (each load kept a bounds check: 10-15% slower than the
 * Java array); a 64K-entry table for the weights' half-precision scales (within noise); a loop over the
 * 3 remaining byte runs instead of writing them out (C2 kept the loop: 1.6x slower); helper methods that
 * take or return vectors (C2 sometimes declines to inline them in a big kernel and then boxes every
 * vector: whole decodes ran 2-3x slower in some JVM runs and not in others).
 */
final class Q8_0Activations {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS_16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS_32 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> SHORTS_8 = ShortVector.SPECIES_128;
    /**
     * {@link #quantizeBlocks8}'s gathers: {@code x[8k + j]} takes value 4j+k of the block, {@code q[(i & 1) * 16
     * + (i >> 1)]} value i.
     */
    private static final int[] SPLIT_GATHER = new int[32];
    private static final int[] PAIR_GATHER = new int[32];
    static {
        for (int i = 0; i < 32; i++) {
            SPLIT_GATHER[(i & 3) * 8 + (i >> 2)] = i;
            PAIR_GATHER[(i & 1) * 16 + (i >> 1)] = i;
        }
    }
    private static final VectorSpecies<Float> F16 = FloatVector.SPECIES_512;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 34;
    /** Floats of converted weight rows a thread keeps for a batch (16 KB: a third of L1d). */
    private static final int GROUP_FLOATS = 4096;
    /**
     * Rows converted together at least, so that {@link #dotFourRowsTwoPairs} gets whole tiles on long rows
     * too (a 2816-value row is 22 KB converted, past {@link #GROUP_FLOATS} alone: with one row per group
     * the batch kernel had fallen back to {@link #dotTwoPairs}). One thread, n = 128, ns per block and
     * token, alternating runs: 1024 x 2816 2.4-2.7 -> 1.09-1.15, 32000 x 256 2.1-2.2 -> 1.3-1.8, 2816 x 1024
     * 1.03-1.40 -> 0.99-1.11.
     */
    private static final int MIN_GROUP = 4;
    /**
     * Rows of more blocks than this take {@link #dotFourRowsTwoPairs} a span of {@link #SPAN_BLOCKS} blocks at
     * a time, {@link #LONG_GROUP} rows to a group: the span's converted weights (32 KB) then stay in L1 while
     * every pair of tokens passes over them, where a whole 4-row tile of a 2816-value row (90 KB) streamed
     * from L2 for each pair. Same bits (the accumulators wait in {@code RowScratch.partial} between spans).
     * One Zen 5 thread, 1024 x 2816, alternating runs, ms: 64 tokens 5.7-5.9 -> 4.5-4.9, 128 tokens 11.6-12.0
     * -> 8.5-8.7 (spans of 32 blocks in groups of 4: 4.4-5.0 and 9.4-9.6). On two threads of that machine,
     * whose two vCPUs seem to share a core's caches, less: bench-llama-q8_0's feed-forward down projections
     * in a 128-token prompt 161-162 -> 145-146 ms in three alternating pairs, the whole prompt within noise.
     */
    private static final int LONG_ROW_BLOCKS = 32;
    private static final int SPAN_BLOCKS = 16;
    private static final int LONG_GROUP = 8;
    /** The 8 accumulators of {@link #dotFourRowsTwoPairs} between spans. */
    private static final int PARTIAL_FLOATS = 8 * 16;
    /**
     * Work units ({@link MatrixOps#forRows}' multiply-adds) of quantizing or laying out one activation value:
     * a prompt's are split across the pool, a single token's stay on the calling thread.
     */
    private static final long PREPARE_WORK = 4;
    /** Tokens from which a product takes the batch kernel ({@link #batchKernel}). */
    private static final int BATCH_TOKENS = 16;
    /**
     * Tokens from which a product takes the 256-bit batch kernel ({@link #multiplyRows8}) on CPUs without
     * 512-bit vectors. Since its 4-row tiles are interleaved, from 6 (one Zen 3 thread, ns per block and
     * token, batch kernel against {@link #dotFourTokensFloat} and single tokens: 512 x 256 n = 6 2.92 / 4.16,
     * n = 7 2.81 / 3.61; 32000 x 256 n = 6 2.97 / 3.62; 1024 x 1024 n = 6 2.57 / 2.76; but n = 5 3.09 / 2.38
     * at 1024 x 1024 and n = 4 3.68 / 2.99 at 512 x 256).
     */
    private static final int BATCH8_TOKENS = Integer.getInteger("jgpt.q8.batch8Tokens", 6);
    /** Floats of one block in {@link #convertRow8}'s layout. */
    private static final int BLOCK_FLOATS8 = 32;
    /** Tokens from which smaller products take 4 tokens at a time ({@link #dotFourTokens}). */
    private static final int MULTI_TOKENS = 4;
    /**
     * The default of {@link #oneRowStreams}: on AMD CPUs, unless {@code -Djgpt.q8.oneRowStreams=true|false}
     * says otherwise.
     */
    private static final boolean ONE_ROW_STREAMS = Boolean.parseBoolean(
            System.getProperty("jgpt.q8.oneRowStreams", Boolean.toString(CpuVendor.AMD)));
    /** Rows of up to this many blocks may go block by block across a group ({@link #dotShortRows}). */
    private static final int SHORT_ROW_BLOCKS = 8;
    /** Rows {@link #dotShortRows} takes at a time (their weights: 17 KB at 256 values). */
    private static final int SHORT_ROW_GROUP = 64;
    /**
     * The default of {@link #shortRowGroups}: on AMD CPUs, unless {@code -Djgpt.q8.shortRowGroups=true|false}
     * says otherwise.
     */
    private static final boolean SHORT_ROW_GROUPS = Boolean.parseBoolean(
            System.getProperty("jgpt.q8.shortRowGroups", Boolean.toString(CpuVendor.AMD)));
    /** Floats per block of a converted weight row: 4 runs of 8 values, each twice. */
    private static final int PLANE_FLOATS = 64;
    /** Floats per block of a token pair's activations: 4 runs of 16 values, then 16 scales. */
    private static final int PAIR_FLOATS = 80;
    private static final long PLANE_BYTES = PLANE_FLOATS * Float.BYTES;
    private static final long PAIR_BYTES = PAIR_FLOATS * Float.BYTES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /** Weight byte 4j+k of a block goes to position k*8+j, the activations' split order. */
    private static final VectorShuffle<Byte> SPLIT = VectorShuffle.fromOp(BYTES, i -> (i & 7) * 4 + (i >> 3));
    /**
     * Quantized values 0-15 and 16-31 of a block (two vectors) into the split order: byte k of lane j,
     * value 4j+k, to position k*8+j; positions 0-15 (k = 0, 1) and 16-31 (k = 2, 3). Source indexes of 16
     * and more pick from the second vector.
     */
    private static final VectorShuffle<Float> SPLIT_LOW = VectorShuffle.fromOp(F16, p -> 4 * (p & 7) + (p >> 3));
    private static final VectorShuffle<Float> SPLIT_HIGH =
            VectorShuffle.fromOp(F16, p -> 4 * (p & 7) + 2 + (p >> 3));
    /** Values 0, 2, .., 30 (and 1, 3, .., 31) of a block from its two 16-value vectors. */
    private static final VectorShuffle<Float> EVENS = VectorShuffle.fromOp(F16, p -> 2 * p);
    private static final VectorShuffle<Float> ODDS = VectorShuffle.fromOp(F16, p -> 2 * p + 1);
    /** 1.5 * 2^23: adding and subtracting it rounds |v| &lt;= 2^22 to an integer, ties to even (and 0 to +0). */
    private static final float ROUNDING = 12582912f;
    /** Lanes 0-7 (or 8-15) of two vectors side by side: the two tokens' runs for byte k = 0 (or 1). */
    private static final VectorShuffle<Float> LOW_HALVES = VectorShuffle.fromOp(F16, p -> p < 8 ? p : p + 8);
    private static final VectorShuffle<Float> HIGH_HALVES = VectorShuffle.fromOp(F16, p -> p < 8 ? p + 8 : p + 16);
    private static final VectorMask<Float> UPPER_HALF = VectorMask.fromLong(F16, 0xFF00L);
    /** The upper 16 of 32 short lanes: {@link #dotFourTokensPairs}' second block. */
    private static final VectorMask<Short> UPPER_SHORTS = VectorMask.fromLong(SHORTS_32, 0xFFFF0000L);
    /** Lanes 0-7 (or 8-15) of a 16-lane vector, in both halves. */
    private static final VectorShuffle<Float> LOW_TWICE = VectorShuffle.fromOp(F16, i -> i & 7);
    private static final VectorShuffle<Float> HIGH_TWICE = VectorShuffle.fromOp(F16, i -> 8 + (i & 7));
    /**
     * The reduction steps of {@link #dotFourRowsTwoPairs}: within each 8-lane half, lanes from the first
     * vector where the mask is off, from the second where it is on, plus their partners (i + s or i - s).
     */
    private static final VectorMask<Float> HALF4 = VectorMask.fromLong(F16, 0xF0F0L);
    private static final VectorMask<Float> HALF2 = VectorMask.fromLong(F16, 0xCCCCL);
    private static final VectorMask<Float> HALF1 = VectorMask.fromLong(F16, 0xAAAAL);
    private static final VectorShuffle<Float> SWAP4 = partners(4);
    private static final VectorShuffle<Float> SWAP2 = partners(2);
    private static final VectorShuffle<Float> SWAP1 = partners(1);
    /**
     * {@link #dotFourRows}' epilogue: {@link #HALF4} on 8 lanes, then pairs, then neighbours. Each step adds
     * lane i of one accumulator to lane i ^ 4 (then i ^ 2) with a blend of two accumulators and a one-vector
     * permutation of the opposite blend: the two-vector rearrangements it replaced cost C2 several
     * instructions each on AVX2. The same sums, so the same bits; one Zen 3 thread, 512 x 256 by 128 tokens
     * in {@link #dotFourRows8}, ns per block and token: ~2.0 -> ~1.75.
     */
    private static final VectorMask<Float> HALF4_8 = VectorMask.fromLong(F8, 0xF0L);
    private static final VectorMask<Float> HALF2_8 = VectorMask.fromLong(F8, 0xCCL);
    private static final VectorShuffle<Float> HALVES_8 = VectorShuffle.fromOp(F8, i -> i ^ 4);
    private static final VectorShuffle<Float> PAIRS_8 = VectorShuffle.fromOp(F8, i -> i ^ 2);
    private static final VectorShuffle<Float> NEIGHBOUR_8 = VectorShuffle.fromOp(F8, i -> i ^ 1);
    /** Rows 0..3's sums sit in lanes 0, 4, 2 and 6 after {@link #dotFourRows}' epilogue. */
    private static final VectorShuffle<Float> FOUR_ROWS = VectorShuffle.fromValues(F8, 0, 4, 2, 6, 1, 3, 5, 7);

    /** Whether the 512-bit kernels run (two blocks at a time, 8 tokens at a time, the batch kernel). */
    private final boolean wide;
    /**
     * 8, the shift that takes a short's bytes apart in the 256-bit single-token kernels ({@link #dotRow},
     * {@link #dotFourRows}, {@link #dotShortRows}), read into a local there. Not a constant on purpose: C2
     * shifts 16-bit lanes by a count in a vector register and moved a constant count there at every shift
     * (mov, vmovd, then the shift), but a variable one once before the loop. One Zen 3 thread, ns per block:
     * 1024 x 2816 one row at a time ({@link #dotRow}) 4.2 -> 2.7-3.6, 1024 x 1024 4 rows at a time 3.6-4.6 ->
     * 3.0-3.2; bench-llama-q8_0 decoding, two threads, 38.9-39.6 -> 41.4-46.2 tokens/s.
     */
    private int byteShift = 8;
    /**
     * Whether the short-product kernels run ({@link #dotRow}, {@link #dotFourRows}, {@link #dotFourTokens},
     * {@link #dotShortRows}): 256-bit vectors, so also on CPUs with AVX2 only, where they replace the narrow
     * float kernel.
     */
    private final boolean shorts;
    /**
     * Whether {@link #dotFourRows} loads the next rows ahead: for weights that stream from DRAM; on weights
     * in the caches the loads only cost (tiny-llama-q8_0 decode ~1 460-1 520 with them against ~1 730-1 780
     * tokens/s without, three alternating runs each; spread over the blocks as now, 2 225-2 245 against
     * 2 185-2 293 on an Intel Xeon). Set by the {@link Transformer} for its model's size.
     */
    boolean lookAhead;
    /**
     * How many rows ahead {@link #dotFourRows} loads ({@link #lookAhead}). One Intel Xeon thread, 4096 x 1024
     * matrices streamed from DRAM, ns per block, two series of alternating runs: the next 4 rows loaded
     * before the products 4.9-5.0, then 4.5-4.9; spread over the blocks, 4 rows on 4.9-5.1, 8 rows 4.7-4.8,
     * 16 rows 4.6, then 4.4-4.5; 32 rows 4.4-4.5.
     */
    private static final int AHEAD_ROWS = 16;
    /**
     * Whether single tokens (and up to 3) go one row at a time, without loads ahead, when {@link #lookAhead}
     * says the weights stream from DRAM: on AMD's Zen cores, where {@link #dotRow}'s one sequential stream
     * per thread is what the hardware prefetchers serve best (two threads on a Zen 5, bench-llama-q8_0
     * decode: mostly 72-75 tokens/s one row at a time, 50-64 four rows at a time with loads ahead, 36-37
     * without; one row with the next row loaded ahead 55-61). On the Intel Xeon measured, whose cores took
     * ~2.6 ns per block against ~1 on Zen 5, the 4-row kernel with loads ahead was faster. Weights in the
     * caches go 4 rows at a time, or by {@link #shortRowGroups} (one row at a time was slower there:
     * tiny-llama-q8_0 decode on Zen 5 ~1 600-1 710 against ~2 160-2 290 with 4 rows).
     */
    boolean oneRowStreams = ONE_ROW_STREAMS;
    /**
     * Whether single tokens (and up to 3) on rows of at most {@link #SHORT_ROW_BLOCKS} blocks in the caches go
     * block by block across groups of {@link #SHORT_ROW_GROUP} rows ({@link #dotShortRows}, the kernel for
     * them before {@link #dotFourRows}), on AMD CPUs: two threads on a Zen 5, tiny-llama-q8_0 decode
     * 2 347-2 570 tokens/s against 2 175-2 255 with 4 rows at a time, tiny-qwen3-q8_0 2 118-2 137 against
     * 1 888-1 906 (alternating runs of 60-100 repetitions). On the Intel Xeon measured, 4 rows at a time was
     * faster (~1 230-1 310 -> ~1 660-1 720).
     */
    boolean shortRowGroups = SHORT_ROW_GROUPS;
    /**
     * Wide kernel, single token: the quantized values in [-127, 127] as shorts, per block the 16 at even
     * positions, then the 16 at odd ones.
     */
    private short[] q = new short[0];
    /**
     * {@link #q} rearranged by pairs of blocks for the kernels that take two blocks at a time
     * ({@link #blockPairs}): per pair, the 16 even values of both blocks, then the 16 odd ones of both; valid
     * when {@link #blockPairsTokens} is the latest quantization's token count.
     */
    private short[] blockPairs = new short[0];
    private int blockPairsTokens = -1;
    /** Quantized values in [-127, 127] as floats: block b's value 4j+k sits at {@code x[b*32 + k*8 + j]}. */
    private float[] x = new float[0];
    /** Each block's scale, already rounded to F16 as llama.cpp stores it. */
    private float[] d = new float[0];
    /** The batch kernel's layout of {@link #x} and {@link #d} by token pairs ({@link #pairActivations}). */
    private MemorySegment paired = MemorySegment.NULL;
    /** The tokens and blocks per token {@link #paired} holds for the latest quantization, or -1 if none. */
    private int pairedTokens = -1;
    private int pairedBlocks = -1;
    /**
     * {@link #x} in native memory on a 64-byte boundary for the 256-bit batch kernel (long offsets fold into
     * its loads' addresses), valid for {@link #nativeLength} values of the latest quantization, or -1.
     */
    private MemorySegment xNative = MemorySegment.NULL;
    private int nativeLength = -1;

    // The product in progress, written before MatrixOps publishes the job to its threads.
    private MemorySegment jobWeights;
    private float[] jobOut;
    private int jobTokens;
    private int jobRows;
    private int jobBlocks;
    private final MatrixOps.RowTask rowTask = this::multiplyRows;
    /** Per pool thread: the weight rows it is multiplying with a batch of tokens, converted to floats. */
    private static final ThreadLocal<RowScratch> ROW_SCRATCH = ThreadLocal.withInitial(RowScratch::new);

    /** Weight rows as floats: each block's scale, and its 32 values in the split order, each run twice. */
    private static final class RowScratch {
        /** Accumulator lanes on their way to {@link Q8_0Activations#hsum8}. */
        final float[] lanes = new float[64];
        /** The bytes {@link Q8_0Activations#dotFourRows} loads ahead, added up so that the loads are kept. */
        long touched;
        /**
         * {@link Q8_0Activations#dotShortRows}' 8 accumulator lanes per row, 32 bytes each on 64-byte
         * boundaries.
         */
        final MemorySegment accumulators = aligned(8L * SHORT_ROW_GROUP * Float.BYTES);
        float[] scales = new float[0];
        MemorySegment values = MemorySegment.NULL;
        /** {@link Q8_0Activations#dotFourRowsTwoPairs}' accumulators between spans of blocks, 128 floats a tile. */
        float[] partial = new float[0];
        /** The 256-bit batch kernel's converted rows ({@link Q8_0Activations#convertRow8}). */
        private MemorySegment values8 = MemorySegment.NULL;

        /** {@link #values8} and {@link #scales} for at least {@code blocks} blocks; returns the former. */
        MemorySegment values8(int blocks) {
            if (values8.byteSize() < (long) blocks * BLOCK_FLOATS8 * Float.BYTES) {
                values8 = aligned((long) blocks * BLOCK_FLOATS8 * Float.BYTES);
            }
            if (scales.length < blocks) {
                scales = new float[blocks];
            }
            return values8;
        }

        void ensure(int blocks) {
            if (scales.length < blocks) {
                scales = new float[blocks];
            }
            if (values.byteSize() < (long) blocks * PLANE_BYTES) {
                values = aligned((long) blocks * PLANE_BYTES);
            }
        }
    }

    /**
     * {@code bytes} of native memory on a 64-byte boundary, for the buffers the kernels load 512 bits at a
     * time: such a load from a Java array straddles two cache lines (array data is only 16-byte aligned),
     * which measured ~1.5x slower.
     */
    private static MemorySegment aligned(long bytes) {
        return Arena.ofAuto().allocate(bytes, 64);
    }

    /** Activations for the widest kernels this machine supports. */
    Q8_0Activations() {
        this(VectorWidth.BITS);
    }

    /**
     * Activations for the kernels of vectors up to {@code bits}: 512 (all), 256 (the short-product kernels),
     * less (the narrow kernel); all give the same bits.
     */
    Q8_0Activations(int bits) {
        this.wide = bits >= 512;
        this.shorts = bits >= 256;
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
        pairedTokens = -1;
        nativeLength = -1;
        blockPairsTokens = -1;
        if (d.length < blocks) {
            d = new float[blocks];
            x = new float[len];
            if (shorts) {
                q = new short[len];
            }
        }
        // block by block, so a prompt's blocks are split across the pool (single tokens stay on the caller)
        MatrixOps.shared().forRows(blocks, (long) len * PREPARE_WORK, (from, to) -> quantizeBlocks(src, from, to));
    }

    /** {@link #quantize} of blocks {@code [from, to)}. */
    private void quantizeBlocks(float[] src, int from, int to) {
        if (!wide) {
            if (shorts) {
                quantizeBlocks8(src, from, to);
            } else {
                quantizeScalar(src, from, to);
            }
            return;
        }
        for (int b = from; b < to; b++) {
            int o = b * BLOCK;
            FloatVector v0 = FloatVector.fromArray(F16, src, o);
            FloatVector v1 = FloatVector.fromArray(F16, src, o + 16);
            float amax = v0.abs().max(v1.abs()).reduceLanes(VectorOperators.MAX);
            d[b] = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            // round to nearest, ties to even (|v| <= 127): adding 1.5 * 2^23 leaves no fraction bits
            FloatVector q0 = v0.mul(id).add(ROUNDING).sub(ROUNDING);
            FloatVector q1 = v1.mul(id).add(ROUNDING).sub(ROUNDING);
            q0.rearrange(SPLIT_LOW, q1).intoArray(x, o);
            q0.rearrange(SPLIT_HIGH, q1).intoArray(x, o + 16);
            ((ShortVector) q0.rearrange(EVENS, q1).convertShape(VectorOperators.F2S, SHORTS_16, 0)).intoArray(q, o);
            ((ShortVector) q0.rearrange(ODDS, q1).convertShape(VectorOperators.F2S, SHORTS_16, 0)).intoArray(q, o + 16);
        }
    }

    /**
     * {@link #quantize} with 256-bit vectors (AVX2): the block's largest magnitude, then its values times
     * {@code 127/amax}, rounded as {@link #quantizeBlocks} rounds them, gathered straight into the orders of
     * {@link #x} ({@link #SPLIT_GATHER}) and {@link #q} ({@link #PAIR_GATHER}): the 512-bit path's two-vector
     * rearrangements cost C2 several instructions each on AVX2, and {@link #quantizeScalar}'s stores one at a
     * time took ~16 instructions a value with their index checks. The same values (the rounding of
     * {@code Math.rint} for |v| &lt;= 127). One Zen 3 thread, 128 tokens of 256 values: 90-111 -> 54-56 ns per
     * block (62-65 with a float max, whose NaN and -0 fix-ups C2 writes out as blends).
     */
    private void quantizeBlocks8(float[] src, int from, int to) {
        for (int b = from; b < to; b++) {
            int o = b * BLOCK;
            // the largest magnitude as the largest of the values' bits without their signs (as ints, the order of
            // non-negative floats), without the NaN and -0 fix-ups of a float max
            IntVector m0 = FloatVector.fromArray(F8, src, o).reinterpretAsInts().and(0x7fffffff);
            IntVector m1 = FloatVector.fromArray(F8, src, o + 8).reinterpretAsInts().and(0x7fffffff);
            IntVector m2 = FloatVector.fromArray(F8, src, o + 16).reinterpretAsInts().and(0x7fffffff);
            IntVector m3 = FloatVector.fromArray(F8, src, o + 24).reinterpretAsInts().and(0x7fffffff);
            float amax = Float.intBitsToFloat(m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX));
            d[b] = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            for (int k = 0; k < 4; k++) {
                FloatVector.fromArray(F8, src, o, SPLIT_GATHER, 8 * k).mul(id).add(ROUNDING).sub(ROUNDING)
                        .intoArray(x, o + 8 * k);
            }
            for (int h = 0; h < 4; h++) {
                ((ShortVector) FloatVector.fromArray(F8, src, o, PAIR_GATHER, 8 * h).mul(id).add(ROUNDING)
                        .sub(ROUNDING).convertShape(VectorOperators.F2S, SHORTS_8, 0)).intoArray(q, o + 8 * h);
            }
        }
    }

    /**
     * {@link #quantize} one value at a time, for vectors narrower than 256 bits: {@link #x}, and {@link #q} for
     * the short-product kernels.
     */
    private void quantizeScalar(float[] src, int from, int to) {
        for (int b = from; b < to; b++) {
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
                if (shorts) {
                    q[o + (i & 1) * 16 + (i >> 1)] = (short) v;
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
        if (batchKernel(n) || eightTokens(n)) {
            pairActivations(n, jobBlocks);
        }
        if (batch8(n)) {
            nativeActivations(n * cols);
        }
        if (blockPairs(n, jobBlocks)) {
            pairBlocks(n * cols);
        }
        try {
            MatrixOps.shared().forRows(rows, (long) rows * n * cols, rowTask);
        } finally {
            jobWeights = null;
            jobOut = null;
        }
    }

    /**
     * Whether {@code n} tokens go through the batch kernel. On an Intel Xeon, converting the weight rows paid
     * from 12 tokens on against {@link #dotFourTokens} (one thread with AVX-512, ns per block and token,
     * batch against 4-token kernel: 1024 x 1024 n = 8 2.33 / 1.90, n = 12 1.90 / 1.85, n = 16 1.66 / 1.83;
     * 32000 x 256 n = 8 3.03 / 2.63, n = 12 2.21 / 2.79). All kernels give the same bits. On a Zen 5, with 8
     * tokens from 8 on, bench-llama-q8_0's 8-sequence decoding fell from 112 to 79 tokens/s; and since
     * {@link #dotEightTokens}, 12 to 15 tokens are faster without it (one thread, ns per block and token,
     * batch kernel against 8 + 4 tokens: 512 x 256 n = 12 1.58-1.67 / 1.34-1.36, n = 16 1.41-1.48 /
     * 1.19-1.22, n = 24 1.27-1.30 / 1.22-1.24; 1024 x 1024 n = 12 1.36-1.38 / 1.06-1.13, n = 16 1.19-1.20
     * / 1.16-1.18, n = 24 1.03 / 1.50, the activations no longer in L1), so it starts at 16.
     */
    private boolean batchKernel(int n) {
        return wide && n >= BATCH_TOKENS;
    }

    /** Whether {@code n} tokens go through the 256-bit batch kernel ({@link #multiplyRows8}). */
    private boolean batch8(int n) {
        return shorts && !wide && n >= BATCH8_TOKENS;
    }

    /** Whether {@code n} tokens go 8 at a time through {@link #dotEightTokens} (8 to 15 tokens). */
    private boolean eightTokens(int n) {
        return wide && n >= 8 && !batchKernel(n);
    }

    /**
     * Whether {@code n} tokens of rows of {@code blocks} blocks go two blocks at a time
     * ({@link #dotFourTokensPairs}, {@link #dotRowPairs}, {@link #dotShortRowsPairs}).
     */
    private boolean blockPairs(int n, int blocks) {
        return wide && !batchKernel(n) && blocks % 2 == 0;
    }

    /** {@link #blockPairs} from {@link #q}, for the {@code len} values quantized last. */
    private void pairBlocks(int len) {
        if (blockPairsTokens == jobTokens) {
            return; // another product of the same activations (Q, K and V; gate and up)
        }
        if (blockPairs.length < len) {
            blockPairs = new short[len];
        }
        for (int o = 0; o < len; o += 2 * BLOCK) {
            System.arraycopy(q, o, blockPairs, o, 16);
            System.arraycopy(q, o + 32, blockPairs, o + 16, 16);
            System.arraycopy(q, o + 16, blockPairs, o + 32, 16);
            System.arraycopy(q, o + 48, blockPairs, o + 48, 16);
        }
        blockPairsTokens = jobTokens;
    }

    private void multiplyRows(int from, int to) {
        MemorySegment w = jobWeights;
        float[] out = jobOut;
        int n = jobTokens;
        int rows = jobRows;
        int blocks = jobBlocks;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        RowScratch scratch = ROW_SCRATCH.get();
        float[] lanes = scratch.lanes;
        if (batchKernel(n)) {
            // a group of rows is converted once; each pair of tokens' activations then stay in L1 across it
            boolean spans = blocks > LONG_ROW_BLOCKS;
            int group = spans ? LONG_GROUP : Math.max(MIN_GROUP, GROUP_FLOATS / (blocks * PLANE_FLOATS));
            scratch.ensure(group * blocks);
            int pairs = (n + 1) / 2;
            for (int r0 = from; r0 < to; r0 += group) {
                int g = Math.min(group, to - r0);
                for (int i = 0; i < g; i++) {
                    convertRow(w, (r0 + i) * rowBytes, blocks, scratch.scales, scratch.values, i * blocks);
                }
                // long rows: the whole 4-row tiles go SPAN_BLOCKS blocks at a time over every two pairs first, so
                // that the span's converted weights stay in L1 (accumulators wait in partial between spans); the
                // loop below then starts past them
                int tiled = 0;
                if (spans) {
                    int fours = g / 4;
                    int twoPairs = pairs / 2;
                    if (scratch.partial.length < fours * twoPairs * PARTIAL_FLOATS) {
                        scratch.partial = new float[fours * twoPairs * PARTIAL_FLOATS];
                    }
                    for (int b0 = 0; b0 < blocks; b0 += SPAN_BLOCKS) {
                        int b1 = Math.min(blocks, b0 + SPAN_BLOCKS);
                        for (int q = 0; q < twoPairs; q++) {
                            for (int f = 0; f < fours; f++) {
                                dotFourRowsTwoPairs(scratch.scales, scratch.values, 4 * f * blocks, 2 * q, blocks, out,
                                        r0 + 4 * f, rows, n, b0, b1, scratch.partial, (q * fours + f) * PARTIAL_FLOATS);
                            }
                        }
                    }
                    tiled = 4 * fours;
                }
                int p = 0;
                for (; p + 1 < pairs; p += 2) {
                    int i = tiled;
                    for (; i + 3 < g; i += 4) {
                        dotFourRowsTwoPairs(scratch.scales, scratch.values, i * blocks, p, blocks, out, r0 + i, rows,
                                n, 0, blocks, null, 0);
                    }
                    for (; i + 1 < g; i += 2) {
                        dotTwoRowsTwoPairs(scratch.scales, scratch.values, i * blocks, p, blocks, out, r0 + i, rows, n,
                                lanes);
                    }
                    for (; i < g; i++) {
                        dotTwoPairs(scratch.scales, scratch.values, i * blocks, p, blocks, out, r0 + i, rows, n, lanes);
                    }
                }
                for (; p < pairs; p++) {
                    for (int i = 0; i < g; i++) {
                        dotPair(scratch.scales, scratch.values, i * blocks, p, blocks, out, r0 + i, rows, n, lanes);
                    }
                }
            }
            return;
        }
        if (batch8(n)) {
            multiplyRows8(w, from, to, scratch);
            return;
        }
        // the kernels that take two blocks at a time read the layout matmul built for exactly this case
        boolean twoBlocks = blockPairs(n, blocks);
        if (shorts && n < MULTI_TOKENS && blocks <= SHORT_ROW_BLOCKS && shortRowGroups && !lookAhead) {
            MemorySegment acc = scratch.accumulators;
            for (int r0 = from; r0 < to; r0 += SHORT_ROW_GROUP) {
                int g = Math.min(SHORT_ROW_GROUP, to - r0);
                for (int t = 0; t < n; t++) {
                    if (twoBlocks) {
                        dotShortRowsPairs(w, r0 * rowBytes, rowBytes, g, t * blocks, blocks, acc);
                    } else {
                        dotShortRows(w, r0 * rowBytes, rowBytes, g, t * blocks, blocks, acc);
                    }
                    for (int i = 0; i < g; i++) {
                        out[t * rows + r0 + i] = hsum8(acc, 32L * i);
                    }
                }
            }
            return;
        }
        int r = from;
        int done = 0;
        if (shorts && (n >= MULTI_TOKENS || !(lookAhead && oneRowStreams))) {
            // 8 tokens at a time over all the rows from 8 tokens on; then tokens 4 at a time from MULTI_TOKENS
            // on, each row at a time; the rest 4 rows at a time
            int multi = n >= MULTI_TOKENS ? n - n % 4 : 0;
            int octets = eightTokens(n) ? n - n % 8 : 0;
            for (int t = 0; t < octets; t += 8) {
                dotEightTokens(w, from, to, rowBytes, t / 2, blocks, out, rows, lanes);
            }
            done = octets;
            for (; r + 3 < to; r += 4) {
                for (int i = 0; i < 4; i++) {
                    for (int t = octets; t < multi; t += 4) {
                        if (twoBlocks) {
                            dotFourTokensPairs(w, (r + i) * rowBytes, t, blocks, out, rows, r + i, lanes);
                        } else if (wide) {
                            dotFourTokens(w, (r + i) * rowBytes, t, blocks, out, rows, r + i, lanes);
                        } else {
                            dotFourTokensFloat(w, (r + i) * rowBytes, t, blocks, out, rows, r + i, lanes);
                        }
                    }
                }
                for (int t = multi; t < n; t++) {
                    scratch.touched += dotFourRows(w, r * rowBytes, rowBytes, t * blocks, blocks, out, t * rows + r);
                }
            }
        }
        for (; r < to; r++) {
            for (int t = done; t < n; t++) {
                out[t * rows + r] = twoBlocks ? dotRowPairs(w, r * rowBytes, t * blocks, blocks, lanes)
                        : shorts ? dotRow(w, r * rowBytes, t * blocks, blocks, lanes)
                        : dotRowNarrow(w, r * rowBytes, t * blocks, blocks, lanes);
            }
        }
    }

    /**
     * The row's scales and weight values as floats, for {@link #dotPair}, stored from block {@code at} of
     * the scratch arrays on: per block, byte k of the 8 lanes for k = 0..3, each run of 8 twice (once for
     * each token of a pair).
     */
    private static void convertRow(MemorySegment w, long base, int blocks, float[] scales, MemorySegment values,
                                   int at) {
        for (int b = at; b < at + blocks; b++, base += BLOCK_BYTES) {
            scales[b] = Float.float16ToFloat(w.get(SHORT_LE, base));
            // the block's 32 weight bytes in the split order (byte k*8+j = original 4j+k)
            ByteVector wb = ByteVector.fromMemorySegment(BYTES, w, base + 2, LE).rearrange(SPLIT);
            FloatVector k01 = (FloatVector) wb.convertShape(VectorOperators.B2F, F16, 0);
            FloatVector k23 = (FloatVector) wb.convertShape(VectorOperators.B2F, F16, 1);
            long o = (long) b * PLANE_FLOATS * Float.BYTES;
            k01.rearrange(LOW_TWICE).intoMemorySegment(values, o, LE);
            k01.rearrange(HIGH_TWICE).intoMemorySegment(values, o + 64, LE);
            k23.rearrange(LOW_TWICE).intoMemorySegment(values, o + 128, LE);
            k23.rearrange(HIGH_TWICE).intoMemorySegment(values, o + 192, LE);
        }
    }

    /**
     * The 256-bit batch kernel (CPUs without 512-bit vectors): a group of weight rows is converted to floats
     * once ({@link #convertRow8}), then every token passes over it 4 rows at a time ({@link #dotFourRows8}).
     * The batch kernel's arithmetic with one token to a vector: per block, four 8-float multiply-adds give
     * the token's 8 exact lane sums, one more adds them times {@code d_w * d_x} to its accumulators; the
     * same bits as every other kernel here. Rows of more than {@link #LONG_ROW_BLOCKS} blocks go
     * {@link #SPAN_BLOCKS} blocks at a time ({@link #LONG_GROUP} rows to a group), so that the span's
     * converted weights stay in L1 while every token passes over them; the accumulators wait in
     * {@code RowScratch.partial} between spans. 4 rows by one token keep 10 of the 16 vector registers busy;
     * 4 rows by 2 tokens (as the 512-bit kernel does with 32 registers) spilled accumulators to the stack,
     * and so did 4 rows by one token with the weights as the multiply-adds' first operands (C2 then loads
     * all 16 weight vectors of a block first). One Zen 3 thread, ns per block and token against
     * {@link #dotFourTokensFloat} (alternating runs, minimum of 5 each): 512 x 256 n = 128 3.1-3.4 -> 2.26-2.34,
     * n = 16 2.9-3.2 -> 2.43-2.55, n = 8 2.95-3.55 -> 2.69-2.94; 1024 x 2816 n = 128 2.25-2.44 -> 2.21-2.27,
     * n = 8 2.05-2.40 -> 2.26-2.37. At 2 tokens it was slower (4.1 against 2.4-2.7), hence
     * {@link #BATCH8_TOKENS}. The 4 rows of a tile are interleaved block by block ({@link #convertRows8}), so
     * that one offset walks all 16 weight loads of a block: with 4 row offsets and the scales' indexes C2 had
     * run out of general registers and reloaded them from the stack every block (512 x 256 n = 128 2.27 ->
     * 1.91, 1024 x 1024 n = 128 1.80 -> 1.53; with {@link #HALF4_8}'s cheaper epilogue 1.65-1.76 and 1.47-1.56).
     */
    private void multiplyRows8(MemorySegment w, int from, int to, RowScratch scratch) {
        float[] out = jobOut;
        int n = jobTokens;
        int rows = jobRows;
        int blocks = jobBlocks;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        boolean spans = blocks > LONG_ROW_BLOCKS;
        int group = spans ? LONG_GROUP : Math.max(MIN_GROUP, GROUP_FLOATS / (blocks * BLOCK_FLOATS8));
        int span = spans ? SPAN_BLOCKS : blocks;
        MemorySegment values = scratch.values8(group * blocks);
        float[] scales = scratch.scales;
        MemorySegment xs = xNative;
        float[] lanes = scratch.lanes;
        if (spans && scratch.partial.length < (group / 4) * n * BLOCK_FLOATS8) {
            scratch.partial = new float[(group / 4) * n * BLOCK_FLOATS8];
        }
        float[] partial = scratch.partial;
        for (int r0 = from; r0 < to; r0 += group) {
            int g = Math.min(group, to - r0);
            int fours = g / 4;
            convertRows8(w, r0 * rowBytes, rowBytes, g, blocks, scales, values);
            for (int b0 = 0; b0 < blocks; b0 += span) {
                int b1 = Math.min(blocks, b0 + span);
                for (int f = 0; f < fours; f++) {
                    dotFourRows8(scales, values, xs, 4 * f * blocks, n, blocks, b0, b1, partial,
                            f * n * BLOCK_FLOATS8, out, r0 + 4 * f, rows);
                }
            }
            for (int i = 4 * fours; i < g; i++) {
                for (int t = 0; t < n; t++) {
                    out[t * rows + r0 + i] = dotRow8(scales, values, xs, i * blocks, t, blocks, lanes);
                }
            }
        }
    }

    /**
     * {@code g} rows from {@code base} on, {@code rowBytes} apart, converted for {@link #dotFourRows8} (whole
     * 4-row tiles, block b of the tile's row j at block {@code 4b + j} of the tile) and {@link #dotRow8} (the
     * rows left over, each on its own). One call for the group, so that whether C2 inlines the conversion
     * into {@link #multiplyRows8} matters little.
     */
    private static void convertRows8(MemorySegment w, long base, long rowBytes, int g, int blocks, float[] scales,
                                     MemorySegment values) {
        int fours = g / 4;
        for (int i = 0; i < g; i++, base += rowBytes) {
            if (i < 4 * fours) {
                convertRow8(w, base, blocks, scales, values, (i & ~3) * blocks + (i & 3), 4);
            } else {
                convertRow8(w, base, blocks, scales, values, i * blocks, 1);
            }
        }
    }

    /**
     * The row's scales and weight values as floats for the 256-bit batch kernel, at blocks {@code at},
     * {@code at + step}, ... of the scratch: per block, byte k of the 8 lanes for k = 0..3 (byte 4j+k at
     * {@code 8k + j}, the order of {@link #x}), isolated by shifts of the block's 8 little-endian ints.
     */
    private static void convertRow8(MemorySegment w, long base, int blocks, float[] scales, MemorySegment values, int at,
                                    int step) {
        for (int b = at; b < at + blocks * step; b += step, base += BLOCK_BYTES) {
            scales[b] = Float.float16ToFloat(w.get(SHORT_LE, base));
            IntVector wv = IntVector.fromMemorySegment(I8, w, base + 2, LE);
            long o = (long) b * BLOCK_FLOATS8 * Float.BYTES;
            ((FloatVector) wv.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0)).intoMemorySegment(values, o, LE);
            ((FloatVector) wv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0)).intoMemorySegment(values, o + 32, LE);
            ((FloatVector) wv.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0)).intoMemorySegment(values, o + 64, LE);
            ((FloatVector) wv.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).intoMemorySegment(values, o + 96, LE);
        }
    }

    /**
     * Converted rows {@code at..} (a 4-row tile, interleaved by blocks) times each of the {@code n} tokens over
     * blocks {@code [b0, b1)}: token t's 4 accumulators start at zero at block 0 and otherwise from
     * {@code partial[po + 32t ..)}; at the row's end each one's hsum8 goes to out, otherwise back to partial.
     * All the tokens in one call: one call per token cost as much as the products on rows of 8 blocks.
     */
    private void dotFourRows8(float[] scales, MemorySegment values, MemorySegment xs, int at, int n, int blocks,
                              int b0, int b1, float[] partial, int po, float[] out, int r, int rows) {
        for (int t = 0; t < n; t++, po += BLOCK_FLOATS8) {
            FloatVector a0;
            FloatVector a1;
            FloatVector a2;
            FloatVector a3;
            if (b0 == 0) {
                a0 = FloatVector.zero(F8);
                a1 = a0;
                a2 = a0;
                a3 = a0;
            } else {
                a0 = FloatVector.fromArray(F8, partial, po);
                a1 = FloatVector.fromArray(F8, partial, po + 8);
                a2 = FloatVector.fromArray(F8, partial, po + 16);
                a3 = FloatVector.fromArray(F8, partial, po + 24);
            }
            int xt = t * blocks;
            long wo = (long) (at + 4 * b0) * BLOCK_FLOATS8 * Float.BYTES;
            long xo = (long) (xt + b0) * BLOCK * Float.BYTES;
            for (int b = b0, si = at + 4 * b0; b < b1; b++, si += 4, wo += 4 * BLOCK_FLOATS8 * Float.BYTES,
                    xo += BLOCK * Float.BYTES) {
                FloatVector x0 = FloatVector.fromMemorySegment(F8, xs, xo, LE);
                FloatVector x1 = FloatVector.fromMemorySegment(F8, xs, xo + 32, LE);
                FloatVector x2 = FloatVector.fromMemorySegment(F8, xs, xo + 64, LE);
                FloatVector x3 = FloatVector.fromMemorySegment(F8, xs, xo + 96, LE);
                float dx = d[xt + b];
                FloatVector p = x1.fma(FloatVector.fromMemorySegment(F8, values, wo + 32, LE),
                        x0.mul(FloatVector.fromMemorySegment(F8, values, wo, LE)))
                        .add(x3.fma(FloatVector.fromMemorySegment(F8, values, wo + 96, LE),
                                x2.mul(FloatVector.fromMemorySegment(F8, values, wo + 64, LE))));
                a0 = p.fma(FloatVector.broadcast(F8, scales[si] * dx), a0);
                p = x1.fma(FloatVector.fromMemorySegment(F8, values, wo + 160, LE),
                        x0.mul(FloatVector.fromMemorySegment(F8, values, wo + 128, LE)))
                        .add(x3.fma(FloatVector.fromMemorySegment(F8, values, wo + 224, LE),
                                x2.mul(FloatVector.fromMemorySegment(F8, values, wo + 192, LE))));
                a1 = p.fma(FloatVector.broadcast(F8, scales[si + 1] * dx), a1);
                p = x1.fma(FloatVector.fromMemorySegment(F8, values, wo + 288, LE),
                        x0.mul(FloatVector.fromMemorySegment(F8, values, wo + 256, LE)))
                        .add(x3.fma(FloatVector.fromMemorySegment(F8, values, wo + 352, LE),
                                x2.mul(FloatVector.fromMemorySegment(F8, values, wo + 320, LE))));
                a2 = p.fma(FloatVector.broadcast(F8, scales[si + 2] * dx), a2);
                p = x1.fma(FloatVector.fromMemorySegment(F8, values, wo + 416, LE),
                        x0.mul(FloatVector.fromMemorySegment(F8, values, wo + 384, LE)))
                        .add(x3.fma(FloatVector.fromMemorySegment(F8, values, wo + 480, LE),
                                x2.mul(FloatVector.fromMemorySegment(F8, values, wo + 448, LE))));
                a3 = p.fma(FloatVector.broadcast(F8, scales[si + 3] * dx), a3);
            }
            if (b1 < blocks) {
                a0.intoArray(partial, po);
                a1.intoArray(partial, po + 8);
                a2.intoArray(partial, po + 16);
                a3.intoArray(partial, po + 24);
                continue;
            }
            // dotFourTokensFloat's epilogue: each accumulator's hsum8, rows 0..3 in lanes 0..3
            FloatVector c01 = a0.blend(a1, HALF4_8).add(a1.blend(a0, HALF4_8).rearrange(HALVES_8));
            FloatVector c23 = a2.blend(a3, HALF4_8).add(a3.blend(a2, HALF4_8).rearrange(HALVES_8));
            FloatVector e = c01.blend(c23, HALF2_8).add(c23.blend(c01, HALF2_8).rearrange(PAIRS_8));
            ((FloatVector) e.add(e.rearrange(NEIGHBOUR_8)).rearrange(FOUR_ROWS).reinterpretShape(F4, 0))
                    .intoArray(out, t * rows + r);
        }
    }

    /** One converted row ({@code at..}) times token {@code t}, for the rows left over by the 4-row tiles. */
    private float dotRow8(float[] scales, MemorySegment values, MemorySegment xs, int at, int t, int blocks, float[] lanes) {
        FloatVector acc = FloatVector.zero(F8);
        int xt = t * blocks;
        for (int b = 0; b < blocks; b++) {
            long o = (long) (at + b) * BLOCK_FLOATS8 * Float.BYTES;
            long xo = (long) (xt + b) * BLOCK * Float.BYTES;
            FloatVector p = FloatVector.fromMemorySegment(F8, values, o, LE).mul(FloatVector.fromMemorySegment(F8, xs, xo, LE));
            p = FloatVector.fromMemorySegment(F8, values, o + 32, LE).fma(FloatVector.fromMemorySegment(F8, xs, xo + 32, LE), p);
            p = FloatVector.fromMemorySegment(F8, values, o + 64, LE).fma(FloatVector.fromMemorySegment(F8, xs, xo + 64, LE), p);
            p = FloatVector.fromMemorySegment(F8, values, o + 96, LE).fma(FloatVector.fromMemorySegment(F8, xs, xo + 96, LE), p);
            acc = p.fma(FloatVector.broadcast(F8, scales[at + b] * d[xt + b]), acc);
        }
        acc.intoArray(lanes, 0);
        return hsum8(lanes, 0);
    }

    /** {@link #x}'s first {@code len} values in {@link #xNative}, for the 256-bit batch kernel. */
    private void nativeActivations(int len) {
        if (nativeLength == len) {
            return; // another product of the same activations (Q, K and V; gate and up)
        }
        if (xNative.byteSize() < (long) len * Float.BYTES) {
            xNative = aligned((long) len * Float.BYTES);
        }
        MemorySegment.copy(x, 0, xNative, ValueLayout.JAVA_FLOAT, 0, len);
        nativeLength = len;
    }

    /**
     * The activations of tokens {@code 2p} and {@code 2p + 1} side by side, for the batch kernel: per
     * block, byte k of the 8 lanes for k = 0..3 (the first token's in lanes 0-7, the second's in 8-15),
     * then the two tokens' scales, 8 lanes each. A missing second token (odd n) repeats the first, with
     * scale 0.
     */
    private void pairActivations(int n, int blocks) {
        if (pairedTokens == n && pairedBlocks == blocks) {
            return; // another product of the same activations (Q, K and V; gate and up)
        }
        int pairs = (n + 1) / 2;
        long need = (long) pairs * blocks * PAIR_BYTES;
        if (paired.byteSize() < need) {
            paired = aligned(need);
        }
        MatrixOps.shared().forRows(pairs, (long) pairs * blocks * 2 * BLOCK * PREPARE_WORK,
                (from, to) -> pairActivations(n, blocks, from, to));
        pairedTokens = n;
        pairedBlocks = blocks;
    }

    /** {@link #pairActivations} of pairs {@code [from, to)}. */
    private void pairActivations(int n, int blocks, int from, int to) {
        long o = (long) from * blocks * PAIR_BYTES;
        for (int p = from; p < to; p++) {
            int t = 2 * p;
            boolean second = t + 1 < n;
            for (int b = 0; b < blocks; b++, o += PAIR_BYTES) {
                int first = (t * blocks + b) * BLOCK;
                FloatVector a01 = FloatVector.fromArray(F16, x, first);
                FloatVector a23 = FloatVector.fromArray(F16, x, first + 16);
                // an odd batch's last pair repeats its token (scale 0 below, and its outputs are not stored): a
                // vector chosen by a branch (loaded or zero) is one C2 may box
                int other = second ? first + blocks * BLOCK : first;
                FloatVector b01 = FloatVector.fromArray(F16, x, other);
                FloatVector b23 = FloatVector.fromArray(F16, x, other + 16);
                a01.rearrange(LOW_HALVES, b01).intoMemorySegment(paired, o, LE);
                a01.rearrange(HIGH_HALVES, b01).intoMemorySegment(paired, o + 64, LE);
                a23.rearrange(LOW_HALVES, b23).intoMemorySegment(paired, o + 128, LE);
                a23.rearrange(HIGH_HALVES, b23).intoMemorySegment(paired, o + 192, LE);
                float d1 = second ? d[(t + 1) * blocks + b] : 0f;
                FloatVector.broadcast(F16, d[t * blocks + b]).blend(FloatVector.broadcast(F16, d1), UPPER_HALF)
                        .intoMemorySegment(paired, o + 256, LE);
            }
        }
    }

    /**
     * Row {@code row} (converted at scratch block {@code at}) times the tokens of pair {@code p}: out of
     * each block, 16 exact lane sums (both tokens' 8) from four multiply-adds, then one fused multiply-add
     * with both tokens' scales, as llama.cpp does per token; lanes 0-7 sum to the first token's result.
     */
    private void dotPair(float[] scales, MemorySegment values, int at, int p, int blocks, float[] out, int row,
                         int rows, int n, float[] lanes) {
        MemorySegment a = paired;
        FloatVector acc = FloatVector.zero(F16);
        long wo = (long) at * PLANE_BYTES;
        long xo = (long) p * blocks * PAIR_BYTES;
        for (int b = 0; b < blocks; b++, wo += PLANE_BYTES, xo += PAIR_BYTES) {
            FloatVector s = FloatVector.fromMemorySegment(F16, values, wo, LE)
                    .mul(FloatVector.fromMemorySegment(F16, a, xo, LE));
            s = FloatVector.fromMemorySegment(F16, values, wo + 64, LE)
                    .fma(FloatVector.fromMemorySegment(F16, a, xo + 64, LE), s);
            s = FloatVector.fromMemorySegment(F16, values, wo + 128, LE)
                    .fma(FloatVector.fromMemorySegment(F16, a, xo + 128, LE), s);
            s = FloatVector.fromMemorySegment(F16, values, wo + 192, LE)
                    .fma(FloatVector.fromMemorySegment(F16, a, xo + 192, LE), s);
            acc = s.fma(FloatVector.fromMemorySegment(F16, a, xo + 256, LE).mul(scales[at + b]), acc);
        }
        acc.intoArray(lanes, 0);
        store(lanes, 0, out, p, row, rows, n);
    }

    /** {@link #dotPair} for pairs {@code p} and {@code p + 1} sharing the weight loads. */
    private void dotTwoPairs(float[] scales, MemorySegment values, int at, int p, int blocks, float[] out,
                             int row, int rows, int n, float[] lanes) {
        MemorySegment a = paired;
        FloatVector acc0 = FloatVector.zero(F16);
        FloatVector acc1 = FloatVector.zero(F16);
        long second = (long) blocks * PAIR_BYTES;
        long wo = (long) at * PLANE_BYTES;
        long xo = (long) p * blocks * PAIR_BYTES;
        for (int b = 0; b < blocks; b++, wo += PLANE_BYTES, xo += PAIR_BYTES) {
            FloatVector w0 = FloatVector.fromMemorySegment(F16, values, wo, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F16, values, wo + 64, LE);
            FloatVector w2 = FloatVector.fromMemorySegment(F16, values, wo + 128, LE);
            FloatVector w3 = FloatVector.fromMemorySegment(F16, values, wo + 192, LE);
            float dw = scales[at + b];
            long yo = xo + second;
            FloatVector s0 = w0.mul(FloatVector.fromMemorySegment(F16, a, xo, LE));
            FloatVector s1 = w0.mul(FloatVector.fromMemorySegment(F16, a, yo, LE));
            s0 = w1.fma(FloatVector.fromMemorySegment(F16, a, xo + 64, LE), s0);
            s1 = w1.fma(FloatVector.fromMemorySegment(F16, a, yo + 64, LE), s1);
            s0 = w2.fma(FloatVector.fromMemorySegment(F16, a, xo + 128, LE), s0);
            s1 = w2.fma(FloatVector.fromMemorySegment(F16, a, yo + 128, LE), s1);
            s0 = w3.fma(FloatVector.fromMemorySegment(F16, a, xo + 192, LE), s0);
            s1 = w3.fma(FloatVector.fromMemorySegment(F16, a, yo + 192, LE), s1);
            acc0 = s0.fma(FloatVector.fromMemorySegment(F16, a, xo + 256, LE).mul(dw), acc0);
            acc1 = s1.fma(FloatVector.fromMemorySegment(F16, a, yo + 256, LE).mul(dw), acc1);
        }
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, 16);
        store(lanes, 0, out, p, row, rows, n);
        store(lanes, 16, out, p + 1, row, rows, n);
    }

    /**
     * {@link #dotPair} for rows {@code row} and {@code row + 1} (converted at scratch blocks {@code at} and
     * {@code at + blocks}) and pairs {@code p} and {@code p + 1}: each weight load serves two pairs and
     * each activation load two rows.
     */
    private void dotTwoRowsTwoPairs(float[] scales, MemorySegment values, int at, int p, int blocks, float[] out,
                                    int row, int rows, int n, float[] lanes) {
        MemorySegment a = paired;
        FloatVector acc00 = FloatVector.zero(F16);
        FloatVector acc01 = FloatVector.zero(F16);
        FloatVector acc10 = FloatVector.zero(F16);
        FloatVector acc11 = FloatVector.zero(F16);
        long second = (long) blocks * PAIR_BYTES;
        long nextRow = (long) blocks * PLANE_BYTES;
        long wo = (long) at * PLANE_BYTES;
        long xo = (long) p * blocks * PAIR_BYTES;
        for (int b = 0; b < blocks; b++, wo += PLANE_BYTES, xo += PAIR_BYTES) {
            long vo = wo + nextRow;
            long yo = xo + second;
            FloatVector x0 = FloatVector.fromMemorySegment(F16, a, xo, LE);
            FloatVector y0 = FloatVector.fromMemorySegment(F16, a, yo, LE);
            FloatVector w = FloatVector.fromMemorySegment(F16, values, wo, LE);
            FloatVector v = FloatVector.fromMemorySegment(F16, values, vo, LE);
            FloatVector s00 = w.mul(x0);
            FloatVector s01 = w.mul(y0);
            FloatVector s10 = v.mul(x0);
            FloatVector s11 = v.mul(y0);
            FloatVector x64 = FloatVector.fromMemorySegment(F16, a, xo + 64, LE);
            FloatVector y64 = FloatVector.fromMemorySegment(F16, a, yo + 64, LE);
            FloatVector w64 = FloatVector.fromMemorySegment(F16, values, wo + 64, LE);
            FloatVector v64 = FloatVector.fromMemorySegment(F16, values, vo + 64, LE);
            s00 = w64.fma(x64, s00);
            s01 = w64.fma(y64, s01);
            s10 = v64.fma(x64, s10);
            s11 = v64.fma(y64, s11);
            FloatVector x128 = FloatVector.fromMemorySegment(F16, a, xo + 128, LE);
            FloatVector y128 = FloatVector.fromMemorySegment(F16, a, yo + 128, LE);
            FloatVector w128 = FloatVector.fromMemorySegment(F16, values, wo + 128, LE);
            FloatVector v128 = FloatVector.fromMemorySegment(F16, values, vo + 128, LE);
            s00 = w128.fma(x128, s00);
            s01 = w128.fma(y128, s01);
            s10 = v128.fma(x128, s10);
            s11 = v128.fma(y128, s11);
            FloatVector x192 = FloatVector.fromMemorySegment(F16, a, xo + 192, LE);
            FloatVector y192 = FloatVector.fromMemorySegment(F16, a, yo + 192, LE);
            FloatVector w192 = FloatVector.fromMemorySegment(F16, values, wo + 192, LE);
            FloatVector v192 = FloatVector.fromMemorySegment(F16, values, vo + 192, LE);
            s00 = w192.fma(x192, s00);
            s01 = w192.fma(y192, s01);
            s10 = v192.fma(x192, s10);
            s11 = v192.fma(y192, s11);
            FloatVector dx = FloatVector.fromMemorySegment(F16, a, xo + 256, LE);
            FloatVector dy = FloatVector.fromMemorySegment(F16, a, yo + 256, LE);
            float dw = scales[at + b];
            float dv = scales[at + blocks + b];
            acc00 = s00.fma(dx.mul(dw), acc00);
            acc01 = s01.fma(dy.mul(dw), acc01);
            acc10 = s10.fma(dx.mul(dv), acc10);
            acc11 = s11.fma(dy.mul(dv), acc11);
        }
        acc00.intoArray(lanes, 0);
        acc01.intoArray(lanes, 16);
        acc10.intoArray(lanes, 32);
        acc11.intoArray(lanes, 48);
        store(lanes, 0, out, p, row, rows, n);
        store(lanes, 16, out, p + 1, row, rows, n);
        store(lanes, 32, out, p, row + 1, rows, n);
        store(lanes, 48, out, p + 1, row + 1, rows, n);
    }

    /**
     * {@link #dotTwoRowsTwoPairs} for rows {@code row..row+3} (converted at scratch blocks {@code at},
     * {@code at + blocks}, ...): each activation load serves four rows, each weight load two pairs. Only
     * blocks {@code [from, to)}: after the first span of a row the accumulators start from
     * {@code partial[po ..]} (128 floats), and before its last they go back there instead of into out.
     */
    private void dotFourRowsTwoPairs(float[] scales, MemorySegment values, int at, int p, int blocks, float[] out,
                                     int row, int rows, int n, int from, int to, float[] partial, int po) {
        MemorySegment a = paired;
        FloatVector acc00 = FloatVector.zero(F16);
        FloatVector acc01 = FloatVector.zero(F16);
        FloatVector acc10 = FloatVector.zero(F16);
        FloatVector acc11 = FloatVector.zero(F16);
        FloatVector acc20 = FloatVector.zero(F16);
        FloatVector acc21 = FloatVector.zero(F16);
        FloatVector acc30 = FloatVector.zero(F16);
        FloatVector acc31 = FloatVector.zero(F16);
        if (from > 0) {
            acc00 = FloatVector.fromArray(F16, partial, po);
            acc01 = FloatVector.fromArray(F16, partial, po + 16);
            acc10 = FloatVector.fromArray(F16, partial, po + 32);
            acc11 = FloatVector.fromArray(F16, partial, po + 48);
            acc20 = FloatVector.fromArray(F16, partial, po + 64);
            acc21 = FloatVector.fromArray(F16, partial, po + 80);
            acc30 = FloatVector.fromArray(F16, partial, po + 96);
            acc31 = FloatVector.fromArray(F16, partial, po + 112);
        }
        long second = (long) blocks * PAIR_BYTES;
        long nextRow = (long) blocks * PLANE_BYTES;
        long wo = (long) (at + from) * PLANE_BYTES;
        long xo = ((long) p * blocks + from) * PAIR_BYTES;
        for (int b = from; b < to; b++, wo += PLANE_BYTES, xo += PAIR_BYTES) {
            long yo = xo + second;
            FloatVector x0 = FloatVector.fromMemorySegment(F16, a, xo, LE);
            FloatVector y0 = FloatVector.fromMemorySegment(F16, a, yo, LE);
            FloatVector w0_0 = FloatVector.fromMemorySegment(F16, values, wo, LE);
            FloatVector w1_0 = FloatVector.fromMemorySegment(F16, values, wo + nextRow, LE);
            FloatVector w2_0 = FloatVector.fromMemorySegment(F16, values, wo + 2 * nextRow, LE);
            FloatVector w3_0 = FloatVector.fromMemorySegment(F16, values, wo + 3 * nextRow, LE);
            FloatVector s00 = w0_0.mul(x0);
            FloatVector s01 = w0_0.mul(y0);
            FloatVector s10 = w1_0.mul(x0);
            FloatVector s11 = w1_0.mul(y0);
            FloatVector s20 = w2_0.mul(x0);
            FloatVector s21 = w2_0.mul(y0);
            FloatVector s30 = w3_0.mul(x0);
            FloatVector s31 = w3_0.mul(y0);
            FloatVector x64 = FloatVector.fromMemorySegment(F16, a, xo + 64, LE);
            FloatVector y64 = FloatVector.fromMemorySegment(F16, a, yo + 64, LE);
            FloatVector w0_64 = FloatVector.fromMemorySegment(F16, values, wo + 64, LE);
            FloatVector w1_64 = FloatVector.fromMemorySegment(F16, values, wo + nextRow + 64, LE);
            FloatVector w2_64 = FloatVector.fromMemorySegment(F16, values, wo + 2 * nextRow + 64, LE);
            FloatVector w3_64 = FloatVector.fromMemorySegment(F16, values, wo + 3 * nextRow + 64, LE);
            s00 = w0_64.fma(x64, s00);
            s01 = w0_64.fma(y64, s01);
            s10 = w1_64.fma(x64, s10);
            s11 = w1_64.fma(y64, s11);
            s20 = w2_64.fma(x64, s20);
            s21 = w2_64.fma(y64, s21);
            s30 = w3_64.fma(x64, s30);
            s31 = w3_64.fma(y64, s31);
            FloatVector x128 = FloatVector.fromMemorySegment(F16, a, xo + 128, LE);
            FloatVector y128 = FloatVector.fromMemorySegment(F16, a, yo + 128, LE);
            FloatVector w0_128 = FloatVector.fromMemorySegment(F16, values, wo + 128, LE);
            FloatVector w1_128 = FloatVector.fromMemorySegment(F16, values, wo + nextRow + 128, LE);
            FloatVector w2_128 = FloatVector.fromMemorySegment(F16, values, wo + 2 * nextRow + 128, LE);
            FloatVector w3_128 = FloatVector.fromMemorySegment(F16, values, wo + 3 * nextRow + 128, LE);
            s00 = w0_128.fma(x128, s00);
            s01 = w0_128.fma(y128, s01);
            s10 = w1_128.fma(x128, s10);
            s11 = w1_128.fma(y128, s11);
            s20 = w2_128.fma(x128, s20);
            s21 = w2_128.fma(y128, s21);
            s30 = w3_128.fma(x128, s30);
            s31 = w3_128.fma(y128, s31);
            FloatVector x192 = FloatVector.fromMemorySegment(F16, a, xo + 192, LE);
            FloatVector y192 = FloatVector.fromMemorySegment(F16, a, yo + 192, LE);
            FloatVector w0_192 = FloatVector.fromMemorySegment(F16, values, wo + 192, LE);
            FloatVector w1_192 = FloatVector.fromMemorySegment(F16, values, wo + nextRow + 192, LE);
            FloatVector w2_192 = FloatVector.fromMemorySegment(F16, values, wo + 2 * nextRow + 192, LE);
            FloatVector w3_192 = FloatVector.fromMemorySegment(F16, values, wo + 3 * nextRow + 192, LE);
            s00 = w0_192.fma(x192, s00);
            s01 = w0_192.fma(y192, s01);
            s10 = w1_192.fma(x192, s10);
            s11 = w1_192.fma(y192, s11);
            s20 = w2_192.fma(x192, s20);
            s21 = w2_192.fma(y192, s21);
            s30 = w3_192.fma(x192, s30);
            s31 = w3_192.fma(y192, s31);
            FloatVector dx = FloatVector.fromMemorySegment(F16, a, xo + 256, LE);
            FloatVector dy = FloatVector.fromMemorySegment(F16, a, yo + 256, LE);
            float d0 = scales[at + b];
            acc00 = s00.fma(dx.mul(d0), acc00);
            acc01 = s01.fma(dy.mul(d0), acc01);
            float d1 = scales[at + blocks + b];
            acc10 = s10.fma(dx.mul(d1), acc10);
            acc11 = s11.fma(dy.mul(d1), acc11);
            float d2 = scales[at + 2 * blocks + b];
            acc20 = s20.fma(dx.mul(d2), acc20);
            acc21 = s21.fma(dy.mul(d2), acc21);
            float d3 = scales[at + 3 * blocks + b];
            acc30 = s30.fma(dx.mul(d3), acc30);
            acc31 = s31.fma(dy.mul(d3), acc31);
        }
        if (to < blocks) {
            acc00.intoArray(partial, po);
            acc01.intoArray(partial, po + 16);
            acc10.intoArray(partial, po + 32);
            acc11.intoArray(partial, po + 48);
            acc20.intoArray(partial, po + 64);
            acc21.intoArray(partial, po + 80);
            acc30.intoArray(partial, po + 96);
            acc31.intoArray(partial, po + 112);
            return;
        }
        // llama.cpp's hsum8 of all 16 outputs at once: lanes i and i + 4, then i and i + 2, then i and i + 1
        // added within each 8-lane half, two accumulators' lanes side by side at every step; the result's
        // quarters are the 4 rows' outputs for tokens 2p, 2p + 2, 2p + 1 and 2p + 3
        FloatVector c0 = acc00.blend(acc01, HALF4).add(acc00.rearrange(SWAP4, acc01));
        FloatVector c1 = acc20.blend(acc21, HALF4).add(acc20.rearrange(SWAP4, acc21));
        FloatVector c2 = acc10.blend(acc11, HALF4).add(acc10.rearrange(SWAP4, acc11));
        FloatVector c3 = acc30.blend(acc31, HALF4).add(acc30.rearrange(SWAP4, acc31));
        FloatVector e0 = c0.blend(c1, HALF2).add(c0.rearrange(SWAP2, c1));
        FloatVector e1 = c2.blend(c3, HALF2).add(c2.rearrange(SWAP2, c3));
        FloatVector sums = e0.blend(e1, HALF1).add(e0.rearrange(SWAP1, e1));
        int t = 2 * p;
        ((FloatVector) sums.reinterpretShape(F4, 0)).intoArray(out, t * rows + row);
        if (t + 1 < n) {
            ((FloatVector) sums.reinterpretShape(F4, 2)).intoArray(out, (t + 1) * rows + row);
        }
        if (t + 2 < n) {
            ((FloatVector) sums.reinterpretShape(F4, 1)).intoArray(out, (t + 2) * rows + row);
        }
        if (t + 3 < n) {
            ((FloatVector) sums.reinterpretShape(F4, 3)).intoArray(out, (t + 3) * rows + row);
        }
    }

    /** Lane i's partner i + s in the first vector (if bit s of i is clear) or i - s in the second. */
    private static VectorShuffle<Float> partners(int s) {
        return VectorShuffle.fromOp(F16, i -> (i & s) == 0 ? i + s : i - s + F16.length());
    }

    /**
     * Each token's {@link LlamaCppMath#hsum8} of its 8 accumulators, {@code lanes[at..at+8)} and
     * {@code lanes[at+8..at+16)}, into out.
     */
    private static void store(float[] lanes, int at, float[] out, int p, int row, int rows, int n) {
        out[2 * p * rows + row] = hsum8(lanes, at);
        if (2 * p + 1 < n) {
            out[(2 * p + 1) * rows + row] = hsum8(lanes, at + 8);
        }
    }

    private static float hsum8(float[] l, int at) {
        return LlamaCppMath.hsum8(l[at], l[at + 1], l[at + 2], l[at + 3], l[at + 4], l[at + 5], l[at + 6], l[at + 7]);
    }

    /**
     * The single-token wide kernel: the weight row at {@code base} times the activations' short values.
     * Per block: the 32 weight bytes as 16 little-endian shorts; shifting left then arithmetically right
     * by 8 gives the even bytes sign-extended, an arithmetic right shift the odd ones. Multiplied by the
     * activations' even and odd values and added, short m holds products 2m and 2m+1 (a sum of two int8 x
     * int8 products with one factor in [-127, 127] fits a short), so int j's two halves, sign-extended
     * and added, are lane j's exact sum of products 4j..4j+3. All of it is written out in the loop: C2
     * boxes a vector that a helper method it declines to inline returns or takes, which made whole
     * decodes several times slower.
     */
    private float dotRow(MemorySegment w, long base, int firstBlock, int blocks, float[] lanes) {
        int eight = byteShift;
        FloatVector acc = FloatVector.zero(F8);
        int xo = firstBlock * BLOCK;
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES, xo += BLOCK) {
            ShortVector xe = ShortVector.fromArray(SHORTS_16, q, xo);
            ShortVector xd = ShortVector.fromArray(SHORTS_16, q, xo + 16);
            ShortVector ws = ShortVector.fromMemorySegment(SHORTS_16, w, base + 2, LE);
            IntVector p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                    .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
            FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            acc = sums.fma(FloatVector.broadcast(F8, scale), acc);
        }
        acc.intoArray(lanes, 0);
        return hsum8(lanes, 0);
    }

    /**
     * {@link #dotRow} two blocks at a time in 512-bit vectors, on {@link #blockPairs} (rows of an even number
     * of blocks), as {@link #dotFourTokensPairs} does it: the same operations on each block's 8 lanes in the
     * same order, so the same bits. Weights streamed from DRAM set the pace here: bench-llama-q8_0 decoding
     * stayed at 74-77 tokens/s on a Zen 5.
     */
    private float dotRowPairs(MemorySegment w, long base, int firstBlock, int blocks, float[] lanes) {
        short[] a = blockPairs;
        FloatVector acc = FloatVector.zero(F8);
        int xo = firstBlock * BLOCK;
        for (int b = 0; b < blocks; b += 2, base += 2 * BLOCK_BYTES, xo += 2 * BLOCK) {
            ShortVector ws = ShortVector.fromMemorySegment(SHORTS_32, w, base + 2, LE)
                    .blend(ShortVector.fromMemorySegment(SHORTS_32, w, base + 4, LE), UPPER_SHORTS);
            IntVector p = ws.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8)
                    .mul(ShortVector.fromArray(SHORTS_32, a, xo))
                    .add(ws.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(SHORTS_32, a, xo + 32)))
                    .reinterpretAsInts();
            FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            float scale0 = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            float scale1 = Float.float16ToFloat(w.get(SHORT_LE, base + BLOCK_BYTES)) * d[firstBlock + b + 1];
            acc = ((FloatVector) sums.reinterpretShape(F8, 0)).fma(FloatVector.broadcast(F8, scale0), acc);
            acc = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, scale1), acc);
        }
        acc.intoArray(lanes, 0);
        return hsum8(lanes, 0);
    }

    /**
     * {@link #dotRow} for the 4 rows from {@code base} on, {@code rowBytes} apart, into {@code out[at..at+4)}:
     * each block's activations are loaded once for the 4 rows, and 4 independent accumulators keep the
     * fused multiply-adds from waiting on one another (one row alone waits for each one's result: its chain
     * is the floor of {@link #dotRow} on short rows). Each row's lanes see the same operations in the same
     * order as in {@link #dotRow}; the epilogue is llama.cpp's hsum8 of the 4 rows at once (lanes i and
     * i + 4, then i and i + 2, then neighbours), two rows side by side at every step.
     * <p>
     * With {@link #lookAhead} it loads one byte of each cache line of the 4 rows {@link #AHEAD_ROWS} on, three
     * lines with every block (Java has no prefetch instruction; the sum it returns keeps the loads from being
     * dropped): weights streaming from DRAM otherwise arrive only as fast as the out-of-order window reaches
     * them, ~25 operations per 34-byte block being too many for it to run far ahead (two threads, every
     * matrix of bench-llama-q8_0 once: ~36 -> ~30 ms with the next 4 rows loaded before the products). On an
     * Intel Xeon (Emerald Rapids) that burst before the products still left memory and arithmetic adding up:
     * one thread took 2.3-2.5 ns per block from the caches, 4.5-5.1 from DRAM, where a plain read of 512 MB
     * runs at ~18 GB/s (1.9 ns per block). Spread over the blocks, 16 rows ahead: 4.4-4.5 on one thread, and
     * on two 2.14-2.19 against 2.24-2.41 (4096 x 1024 matrices, 356 MB in all, alternating runs);
     * bench-llama-q8_0 decoding on two threads 51.8-54.2 against 43.7-47.6 tokens/s (4 alternating runs).
     */
    private long dotFourRows(MemorySegment w, long base, long rowBytes, int firstBlock, int blocks, float[] out,
                             int at) {
        int eight = byteShift;
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        long base1 = base + rowBytes;
        long base2 = base1 + rowBytes;
        long base3 = base2 + rowBytes;
        int xo = firstBlock * BLOCK;
        // the lines of the rows AHEAD_ROWS on, about 2 per block of the 4 rows, so that they stream in while these
        // are multiplied
        long touched = 0;
        long ahead = base + AHEAD_ROWS * rowBytes;
        long aheadEnd = lookAhead ? w.byteSize() - 2 * 64 : 0;
        for (int b = 0; b < blocks; b++, xo += BLOCK) {
            long o = (long) b * BLOCK_BYTES;
            long t = ahead + 4 * o;
            if (t < aheadEnd) {
                touched += w.get(ValueLayout.JAVA_BYTE, t) + w.get(ValueLayout.JAVA_BYTE, t + 64)
                        + w.get(ValueLayout.JAVA_BYTE, t + 2 * 64);
            }
            ShortVector xe = ShortVector.fromArray(SHORTS_16, q, xo);
            ShortVector xd = ShortVector.fromArray(SHORTS_16, q, xo + 16);
            float dx = d[firstBlock + b];
            ShortVector ws = ShortVector.fromMemorySegment(SHORTS_16, w, base + o + 2, LE);
            IntVector p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                    .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
            FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc0 = sums.fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, base + o)) * dx), acc0);
            ws = ShortVector.fromMemorySegment(SHORTS_16, w, base1 + o + 2, LE);
            p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                    .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc1 = sums.fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, base1 + o)) * dx), acc1);
            ws = ShortVector.fromMemorySegment(SHORTS_16, w, base2 + o + 2, LE);
            p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                    .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc2 = sums.fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, base2 + o)) * dx), acc2);
            ws = ShortVector.fromMemorySegment(SHORTS_16, w, base3 + o + 2, LE);
            p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                    .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc3 = sums.fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, base3 + o)) * dx), acc3);
        }
        // lanes 0-3: row 0's l[i] + l[i+4], 4-7: row 1's; then row 0's (i, i+2) pairs in 0-1, row 2's in 2-3, ...
        FloatVector c01 = acc0.blend(acc1, HALF4_8).add(acc1.blend(acc0, HALF4_8).rearrange(HALVES_8));
        FloatVector c23 = acc2.blend(acc3, HALF4_8).add(acc3.blend(acc2, HALF4_8).rearrange(HALVES_8));
        FloatVector e = c01.blend(c23, HALF2_8).add(c23.blend(c01, HALF2_8).rearrange(PAIRS_8));
        ((FloatVector) e.add(e.rearrange(NEIGHBOUR_8)).rearrange(FOUR_ROWS).reinterpretShape(F4, 0))
                .intoArray(out, at);
        return touched;
    }

    /**
     * {@link #dotRow} of the row at {@code base} with tokens {@code t0..t0+3}, into {@code out[t * rows + r]}:
     * each weight block is loaded and split into even and odd bytes once for the 4 tokens, whose
     * accumulators are independent. Each token's lanes see the same operations in the same order as in
     * {@link #dotRow}; the epilogue is {@link #dotFourRows}'. For the few tokens of a batched decode step
     * (one thread, ns per block and token at n = 8: 1024 x 1024 2.81 -> 1.90 against {@link #dotFourRows}
     * token after token, 32000 x 256 3.63 -> 2.63; two threads, 8 tokens, every matrix of bench-llama-q8_0
     * once: ~122 -> ~89 ms, and ~102-109 ms in the batch kernel). Loading the next rows ahead as
     * {@link #dotFourRows} does made this slower (~82 -> ~90 ms).
     */
    private void dotFourTokens(MemorySegment w, long base, int t0, int blocks, float[] out, int rows, int r,
                               float[] lanes) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        int x0 = t0 * blocks;
        int x1 = x0 + blocks;
        int x2 = x1 + blocks;
        int x3 = x2 + blocks;
        for (int b = 0; b < blocks; b++) {
            long o = base + (long) b * BLOCK_BYTES;
            ShortVector ws = ShortVector.fromMemorySegment(SHORTS_16, w, o + 2, LE);
            ShortVector even = ws.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8);
            ShortVector odd = ws.lanewise(VectorOperators.ASHR, 8);
            float dw = Float.float16ToFloat(w.get(SHORT_LE, o));
            int xo = (x0 + b) * BLOCK;
            IntVector p = even.mul(ShortVector.fromArray(SHORTS_16, q, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_16, q, xo + 16))).reinterpretAsInts();
            FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc0 = sums.fma(FloatVector.broadcast(F8, dw * d[x0 + b]), acc0);
            xo = (x1 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_16, q, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_16, q, xo + 16))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc1 = sums.fma(FloatVector.broadcast(F8, dw * d[x1 + b]), acc1);
            xo = (x2 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_16, q, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_16, q, xo + 16))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc2 = sums.fma(FloatVector.broadcast(F8, dw * d[x2 + b]), acc2);
            xo = (x3 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_16, q, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_16, q, xo + 16))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc3 = sums.fma(FloatVector.broadcast(F8, dw * d[x3 + b]), acc3);
        }
        FloatVector c01 = acc0.blend(acc1, HALF4_8).add(acc1.blend(acc0, HALF4_8).rearrange(HALVES_8));
        FloatVector c23 = acc2.blend(acc3, HALF4_8).add(acc3.blend(acc2, HALF4_8).rearrange(HALVES_8));
        FloatVector e = c01.blend(c23, HALF2_8).add(c23.blend(c01, HALF2_8).rearrange(PAIRS_8));
        e.add(e.rearrange(NEIGHBOUR_8)).rearrange(FOUR_ROWS).intoArray(lanes, 0);
        out[t0 * rows + r] = lanes[0];
        out[(t0 + 1) * rows + r] = lanes[1];
        out[(t0 + 2) * rows + r] = lanes[2];
        out[(t0 + 3) * rows + r] = lanes[3];
    }

    /**
     * {@link #dotFourTokens} for CPUs without 512-bit vectors (AVX2): each weight block is converted to floats
     * once, as {@link #dotRowNarrow} does it (byte k of every 32-bit lane in its own 8-float vector), and
     * multiplied with the 4 tokens' float activations ({@link #x}, same split order), two products and two
     * fused multiply-adds per token forming the 8 exact lane sums (as two chains added, which shortens the
     * latency: any order is exact); then llama.cpp's one multiply-add with the scales, and
     * {@link #dotFourTokens}' epilogue. The short products take 6 shifts per block and token where this takes
     * 7 per block; on a Zen 1, whose 256-bit operations are split in two, one thread, ns per block and token:
     * 1024 x 1024, 4 tokens 6.4-6.5 -> 5.5-5.7 (one chain of multiply-adds) -> 4.6-4.9 (two), 512 x 256
     * 7.6-7.7 -> 6.9-7.2 -> 6.0-6.4.
     */
    private void dotFourTokensFloat(MemorySegment w, long base, int t0, int blocks, float[] out, int rows, int r,
                                    float[] lanes) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        int x0 = t0 * blocks;
        int x1 = x0 + blocks;
        int x2 = x1 + blocks;
        int x3 = x2 + blocks;
        for (int b = 0; b < blocks; b++) {
            long o = base + (long) b * BLOCK_BYTES;
            IntVector wv = IntVector.fromMemorySegment(I8, w, o + 2, LE);
            FloatVector k0 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k1 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k2 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k3 = (FloatVector) wv.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
            float dw = Float.float16ToFloat(w.get(SHORT_LE, o));
            int xo = (x0 + b) * BLOCK;
            FloatVector sum = k1.fma(FloatVector.fromArray(F8, x, xo + 8), k0.mul(FloatVector.fromArray(F8, x, xo)))
                    .add(k3.fma(FloatVector.fromArray(F8, x, xo + 24), k2.mul(FloatVector.fromArray(F8, x, xo + 16))));
            acc0 = sum.fma(FloatVector.broadcast(F8, dw * d[x0 + b]), acc0);
            xo = (x1 + b) * BLOCK;
            sum = k1.fma(FloatVector.fromArray(F8, x, xo + 8), k0.mul(FloatVector.fromArray(F8, x, xo)))
                    .add(k3.fma(FloatVector.fromArray(F8, x, xo + 24), k2.mul(FloatVector.fromArray(F8, x, xo + 16))));
            acc1 = sum.fma(FloatVector.broadcast(F8, dw * d[x1 + b]), acc1);
            xo = (x2 + b) * BLOCK;
            sum = k1.fma(FloatVector.fromArray(F8, x, xo + 8), k0.mul(FloatVector.fromArray(F8, x, xo)))
                    .add(k3.fma(FloatVector.fromArray(F8, x, xo + 24), k2.mul(FloatVector.fromArray(F8, x, xo + 16))));
            acc2 = sum.fma(FloatVector.broadcast(F8, dw * d[x2 + b]), acc2);
            xo = (x3 + b) * BLOCK;
            sum = k1.fma(FloatVector.fromArray(F8, x, xo + 8), k0.mul(FloatVector.fromArray(F8, x, xo)))
                    .add(k3.fma(FloatVector.fromArray(F8, x, xo + 24), k2.mul(FloatVector.fromArray(F8, x, xo + 16))));
            acc3 = sum.fma(FloatVector.broadcast(F8, dw * d[x3 + b]), acc3);
        }
        FloatVector c01 = acc0.blend(acc1, HALF4_8).add(acc1.blend(acc0, HALF4_8).rearrange(HALVES_8));
        FloatVector c23 = acc2.blend(acc3, HALF4_8).add(acc3.blend(acc2, HALF4_8).rearrange(HALVES_8));
        FloatVector e = c01.blend(c23, HALF2_8).add(c23.blend(c01, HALF2_8).rearrange(PAIRS_8));
        e.add(e.rearrange(NEIGHBOUR_8)).rearrange(FOUR_ROWS).intoArray(lanes, 0);
        out[t0 * rows + r] = lanes[0];
        out[(t0 + 1) * rows + r] = lanes[1];
        out[(t0 + 2) * rows + r] = lanes[2];
        out[(t0 + 3) * rows + r] = lanes[3];
    }

    /**
     * Rows {@code [from, to)} times the 8 tokens of pairs {@code p0..p0+3} ({@link #paired}), the batch
     * kernel's arithmetic without its converted rows: each weight block is converted to floats in registers
     * (each 8-float run twice, as {@link #convertRow} stores them) and multiplied with the 4 pairs' activations,
     * which stay in L1 across the rows. The 16 outputs' hsum8 is {@link #dotFourRowsTwoPairs}' epilogue with
     * each row's pairs 0-1 and 2-3 as its first two rows and nothing in the other two. Same bits as every
     * other kernel here. One Zen 5 thread, 8 tokens, ns per block and token against {@link #dotFourTokensPairs}:
     * 32000 x 256 1.61 -> 1.18, 1024 x 1024 1.01 -> 0.89, 65536 x 1024 (from DRAM) 1.135 -> 1.11; two
     * threads, tiny-llama-q8_0 8-sequence decoding 3 450-3 470 -> 3 760-4 320 tokens/s. All the rows in one
     * call rather than one call per row: 32000 x 256 1.28-1.32 -> 1.24-1.32. Two rows at a time (an odd last
     * row twice, written once): each load of the 4 pairs' activations serves both rows, where one row took 20
     * loads per block for 24 multiply-adds and waited on them; one Zen 4 thread, 8 tokens, ns per block and token,
     * 3 alternating pairs: 1024 x 1024 1.41-1.43 -> 1.02-1.04, 2816 x 1024 1.38-1.39 -> 0.99-1.00, 1024 x 2816
     * 1.47-1.48 -> 0.98-1.03, 32000 x 256 1.07 -> 1.09-1.11.
     */
    private void dotEightTokens(MemorySegment w, int from, int to, long rowBytes, int p0, int blocks, float[] out,
                                int rows, float[] lanes) {
        MemorySegment a = paired;
        for (int r = from; r < to; r += 2) {
            int rb = Math.min(r + 1, to - 1);
            long base = r * rowBytes;
            long baseB = rb * rowBytes;
            FloatVector acc0 = FloatVector.zero(F16);
            FloatVector acc1 = FloatVector.zero(F16);
            FloatVector acc2 = FloatVector.zero(F16);
            FloatVector acc3 = FloatVector.zero(F16);
            FloatVector bcc0 = FloatVector.zero(F16);
            FloatVector bcc1 = FloatVector.zero(F16);
            FloatVector bcc2 = FloatVector.zero(F16);
            FloatVector bcc3 = FloatVector.zero(F16);
            long pairStride = (long) blocks * PAIR_BYTES;
            long xo = (long) p0 * pairStride;
            for (int b = 0; b < blocks; b++, xo += PAIR_BYTES) {
                long o = base + (long) b * BLOCK_BYTES;
                long ob = baseB + (long) b * BLOCK_BYTES;
                ByteVector wb = ByteVector.fromMemorySegment(BYTES, w, o + 2, LE).rearrange(SPLIT);
                FloatVector k01 = (FloatVector) wb.convertShape(VectorOperators.B2F, F16, 0);
                FloatVector k23 = (FloatVector) wb.convertShape(VectorOperators.B2F, F16, 1);
                FloatVector w0 = k01.rearrange(LOW_TWICE);
                FloatVector w1 = k01.rearrange(HIGH_TWICE);
                FloatVector w2 = k23.rearrange(LOW_TWICE);
                FloatVector w3 = k23.rearrange(HIGH_TWICE);
                ByteVector vb = ByteVector.fromMemorySegment(BYTES, w, ob + 2, LE).rearrange(SPLIT);
                FloatVector m01 = (FloatVector) vb.convertShape(VectorOperators.B2F, F16, 0);
                FloatVector m23 = (FloatVector) vb.convertShape(VectorOperators.B2F, F16, 1);
                FloatVector v0 = m01.rearrange(LOW_TWICE);
                FloatVector v1 = m01.rearrange(HIGH_TWICE);
                FloatVector v2 = m23.rearrange(LOW_TWICE);
                FloatVector v3 = m23.rearrange(HIGH_TWICE);
                float dw = Float.float16ToFloat(w.get(SHORT_LE, o));
                float dv = Float.float16ToFloat(w.get(SHORT_LE, ob));
                long x1 = xo + pairStride;
                long x2 = x1 + pairStride;
                long x3 = x2 + pairStride;
                FloatVector x = FloatVector.fromMemorySegment(F16, a, xo, LE);
                FloatVector s0 = w0.mul(x);
                FloatVector t0 = v0.mul(x);
                x = FloatVector.fromMemorySegment(F16, a, x1, LE);
                FloatVector s1 = w0.mul(x);
                FloatVector t1 = v0.mul(x);
                x = FloatVector.fromMemorySegment(F16, a, x2, LE);
                FloatVector s2 = w0.mul(x);
                FloatVector t2 = v0.mul(x);
                x = FloatVector.fromMemorySegment(F16, a, x3, LE);
                FloatVector s3 = w0.mul(x);
                FloatVector t3 = v0.mul(x);
                x = FloatVector.fromMemorySegment(F16, a, xo + 64, LE);
                s0 = w1.fma(x, s0);
                t0 = v1.fma(x, t0);
                x = FloatVector.fromMemorySegment(F16, a, x1 + 64, LE);
                s1 = w1.fma(x, s1);
                t1 = v1.fma(x, t1);
                x = FloatVector.fromMemorySegment(F16, a, x2 + 64, LE);
                s2 = w1.fma(x, s2);
                t2 = v1.fma(x, t2);
                x = FloatVector.fromMemorySegment(F16, a, x3 + 64, LE);
                s3 = w1.fma(x, s3);
                t3 = v1.fma(x, t3);
                x = FloatVector.fromMemorySegment(F16, a, xo + 128, LE);
                s0 = w2.fma(x, s0);
                t0 = v2.fma(x, t0);
                x = FloatVector.fromMemorySegment(F16, a, x1 + 128, LE);
                s1 = w2.fma(x, s1);
                t1 = v2.fma(x, t1);
                x = FloatVector.fromMemorySegment(F16, a, x2 + 128, LE);
                s2 = w2.fma(x, s2);
                t2 = v2.fma(x, t2);
                x = FloatVector.fromMemorySegment(F16, a, x3 + 128, LE);
                s3 = w2.fma(x, s3);
                t3 = v2.fma(x, t3);
                x = FloatVector.fromMemorySegment(F16, a, xo + 192, LE);
                s0 = w3.fma(x, s0);
                t0 = v3.fma(x, t0);
                x = FloatVector.fromMemorySegment(F16, a, x1 + 192, LE);
                s1 = w3.fma(x, s1);
                t1 = v3.fma(x, t1);
                x = FloatVector.fromMemorySegment(F16, a, x2 + 192, LE);
                s2 = w3.fma(x, s2);
                t2 = v3.fma(x, t2);
                x = FloatVector.fromMemorySegment(F16, a, x3 + 192, LE);
                s3 = w3.fma(x, s3);
                t3 = v3.fma(x, t3);
                x = FloatVector.fromMemorySegment(F16, a, xo + 256, LE);
                acc0 = s0.fma(x.mul(dw), acc0);
                bcc0 = t0.fma(x.mul(dv), bcc0);
                x = FloatVector.fromMemorySegment(F16, a, x1 + 256, LE);
                acc1 = s1.fma(x.mul(dw), acc1);
                bcc1 = t1.fma(x.mul(dv), bcc1);
                x = FloatVector.fromMemorySegment(F16, a, x2 + 256, LE);
                acc2 = s2.fma(x.mul(dw), acc2);
                bcc2 = t2.fma(x.mul(dv), bcc2);
                x = FloatVector.fromMemorySegment(F16, a, x3 + 256, LE);
                acc3 = s3.fma(x.mul(dw), acc3);
                bcc3 = t3.fma(x.mul(dv), bcc3);
            }
            // per row dotFourRowsTwoPairs' epilogue: "row 0" is pairs 0 and 1 (tokens 0-3), "row 1" pairs 2 and 3
            // (tokens 4-7); quarters 0, 1, 2, 3 hold tokens (0, 4), (2, 6), (1, 5), (3, 7) in their first two lanes
            FloatVector zero = FloatVector.zero(F16);
            FloatVector c0 = acc0.blend(acc1, HALF4).add(acc0.rearrange(SWAP4, acc1));
            FloatVector c2 = acc2.blend(acc3, HALF4).add(acc2.rearrange(SWAP4, acc3));
            FloatVector e0 = c0.blend(zero, HALF2).add(c0.rearrange(SWAP2, zero));
            FloatVector e1 = c2.blend(zero, HALF2).add(c2.rearrange(SWAP2, zero));
            e0.blend(e1, HALF1).add(e0.rearrange(SWAP1, e1)).intoArray(lanes, 0);
            c0 = bcc0.blend(bcc1, HALF4).add(bcc0.rearrange(SWAP4, bcc1));
            c2 = bcc2.blend(bcc3, HALF4).add(bcc2.rearrange(SWAP4, bcc3));
            e0 = c0.blend(zero, HALF2).add(c0.rearrange(SWAP2, zero));
            e1 = c2.blend(zero, HALF2).add(c2.rearrange(SWAP2, zero));
            e0.blend(e1, HALF1).add(e0.rearrange(SWAP1, e1)).intoArray(lanes, 16);
            int t = 2 * p0;
            for (int k = 0; k < (rb > r ? 2 : 1); k++) {
                int l = 16 * k;
                int row = r + k;
                out[t * rows + row] = lanes[l];
                out[(t + 4) * rows + row] = lanes[l + 1];
                out[(t + 2) * rows + row] = lanes[l + 4];
                out[(t + 6) * rows + row] = lanes[l + 5];
                out[(t + 1) * rows + row] = lanes[l + 8];
                out[(t + 5) * rows + row] = lanes[l + 9];
                out[(t + 3) * rows + row] = lanes[l + 12];
                out[(t + 7) * rows + row] = lanes[l + 13];
            }
        }
    }

    /**
     * {@link #dotFourTokens} two blocks at a time, in 512-bit vectors (rows of an even number of blocks):
     * the two blocks' 64 weight bytes as 32 shorts (two loads blended, skipping the second block's scale),
     * multiplied with {@link #blockPairs}; the 16 lane sums are the first block's 8 and the second's, added
     * to the token's 8 accumulators one block after the other as before, so the same bits. About half the
     * operations per block and token of the 256-bit kernel: one Zen 5 thread, 8 tokens, ns per block and
     * token, 1024 x 1024 1.55 -> 1.05, 2816 x 1024 1.54 -> 1.03, 32000 x 256 2.2-2.4 -> 1.67; two threads,
     * 8-sequence decoding, bench-llama-q8_0 105 -> 143-149 tokens/s, tiny-llama-q8_0 2 480-2 820 -> 2 900-3 290.
     */
    private void dotFourTokensPairs(MemorySegment w, long base, int t0, int blocks, float[] out, int rows, int r,
                                    float[] lanes) {
        short[] a = blockPairs;
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        FloatVector acc2 = FloatVector.zero(F8);
        FloatVector acc3 = FloatVector.zero(F8);
        int x0 = t0 * blocks;
        int x1 = x0 + blocks;
        int x2 = x1 + blocks;
        int x3 = x2 + blocks;
        for (int b = 0; b < blocks; b += 2) {
            long o = base + (long) b * BLOCK_BYTES;
            // bytes o+2.. are the first block's values; from o+4 on, the upper 32 are the second block's
            ShortVector ws = ShortVector.fromMemorySegment(SHORTS_32, w, o + 2, LE)
                    .blend(ShortVector.fromMemorySegment(SHORTS_32, w, o + 4, LE), UPPER_SHORTS);
            ShortVector even = ws.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8);
            ShortVector odd = ws.lanewise(VectorOperators.ASHR, 8);
            float dw0 = Float.float16ToFloat(w.get(SHORT_LE, o));
            float dw1 = Float.float16ToFloat(w.get(SHORT_LE, o + BLOCK_BYTES));
            int xo = (x0 + b) * BLOCK;
            IntVector p = even.mul(ShortVector.fromArray(SHORTS_32, a, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_32, a, xo + 32))).reinterpretAsInts();
            FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc0 = ((FloatVector) sums.reinterpretShape(F8, 0)).fma(FloatVector.broadcast(F8, dw0 * d[x0 + b]), acc0);
            acc0 = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, dw1 * d[x0 + b + 1]),
                    acc0);
            xo = (x1 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_32, a, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_32, a, xo + 32))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc1 = ((FloatVector) sums.reinterpretShape(F8, 0)).fma(FloatVector.broadcast(F8, dw0 * d[x1 + b]), acc1);
            acc1 = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, dw1 * d[x1 + b + 1]),
                    acc1);
            xo = (x2 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_32, a, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_32, a, xo + 32))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc2 = ((FloatVector) sums.reinterpretShape(F8, 0)).fma(FloatVector.broadcast(F8, dw0 * d[x2 + b]), acc2);
            acc2 = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, dw1 * d[x2 + b + 1]),
                    acc2);
            xo = (x3 + b) * BLOCK;
            p = even.mul(ShortVector.fromArray(SHORTS_32, a, xo))
                    .add(odd.mul(ShortVector.fromArray(SHORTS_32, a, xo + 32))).reinterpretAsInts();
            sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            acc3 = ((FloatVector) sums.reinterpretShape(F8, 0)).fma(FloatVector.broadcast(F8, dw0 * d[x3 + b]), acc3);
            acc3 = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, dw1 * d[x3 + b + 1]),
                    acc3);
        }
        FloatVector c01 = acc0.blend(acc1, HALF4_8).add(acc1.blend(acc0, HALF4_8).rearrange(HALVES_8));
        FloatVector c23 = acc2.blend(acc3, HALF4_8).add(acc3.blend(acc2, HALF4_8).rearrange(HALVES_8));
        FloatVector e = c01.blend(c23, HALF2_8).add(c23.blend(c01, HALF2_8).rearrange(PAIRS_8));
        e.add(e.rearrange(NEIGHBOUR_8)).rearrange(FOUR_ROWS).intoArray(lanes, 0);
        out[t0 * rows + r] = lanes[0];
        out[(t0 + 1) * rows + r] = lanes[1];
        out[(t0 + 2) * rows + r] = lanes[2];
        out[(t0 + 3) * rows + r] = lanes[3];
    }

    /**
     * One token times {@code g} consecutive rows of few blocks, block by block: each block's activations
     * are loaded once for all the rows, whose 8 accumulator lanes each wait in {@code acc} (then
     * {@link #hsum8}). {@link #dotRow}'s arithmetic and order, so the same bits.
     */
    private void dotShortRows(MemorySegment w, long base, long rowBytes, int g, int firstBlock, int blocks,
                              MemorySegment acc) {
        int eight = byteShift;
        acc.fill((byte) 0);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            int xo = (firstBlock + b) * BLOCK;
            ShortVector xe = ShortVector.fromArray(SHORTS_16, q, xo);
            ShortVector xd = ShortVector.fromArray(SHORTS_16, q, xo + 16);
            float dx = d[firstBlock + b];
            long wo = base;
            for (int i = 0; i < g; i++, wo += rowBytes) {
                ShortVector ws = ShortVector.fromMemorySegment(SHORTS_16, w, wo + 2, LE);
                IntVector p = ws.lanewise(VectorOperators.LSHL, eight).lanewise(VectorOperators.ASHR, eight).mul(xe)
                        .add(ws.lanewise(VectorOperators.ASHR, eight).mul(xd)).reinterpretAsInts();
                FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16))
                        .convert(VectorOperators.I2F, 0);
                sums.fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, wo)) * dx),
                        FloatVector.fromMemorySegment(F8, acc, 32L * i, LE)).intoMemorySegment(acc, 32L * i, LE);
            }
        }
    }

    /**
     * {@link #dotShortRows} two blocks at a time in 512-bit vectors, on {@link #blockPairs} (rows of an even
     * number of blocks): each row's 8 accumulator lanes see the same operations in the same order, so the
     * same bits. Two threads on a Zen 5, decoding: tiny-llama-q8_0 2 520-2 560 -> 2 640-2 680 tokens/s,
     * tiny-qwen3-q8_0 1 455 -> 1 587.
     */
    private void dotShortRowsPairs(MemorySegment w, long base, long rowBytes, int g, int firstBlock, int blocks,
                                   MemorySegment acc) {
        short[] a = blockPairs;
        acc.fill((byte) 0);
        for (int b = 0; b < blocks; b += 2, base += 2 * BLOCK_BYTES) {
            int xo = (firstBlock + b) * BLOCK;
            ShortVector xe = ShortVector.fromArray(SHORTS_32, a, xo);
            ShortVector xd = ShortVector.fromArray(SHORTS_32, a, xo + 32);
            float dx0 = d[firstBlock + b];
            float dx1 = d[firstBlock + b + 1];
            long wo = base;
            for (int i = 0; i < g; i++, wo += rowBytes) {
                ShortVector ws = ShortVector.fromMemorySegment(SHORTS_32, w, wo + 2, LE)
                        .blend(ShortVector.fromMemorySegment(SHORTS_32, w, wo + 4, LE), UPPER_SHORTS);
                IntVector p = ws.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xe)
                        .add(ws.lanewise(VectorOperators.ASHR, 8).mul(xd)).reinterpretAsInts();
                FloatVector sums = (FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16))
                        .convert(VectorOperators.I2F, 0);
                FloatVector lanes = FloatVector.fromMemorySegment(F8, acc, 32L * i, LE);
                lanes = ((FloatVector) sums.reinterpretShape(F8, 0))
                        .fma(FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SHORT_LE, wo)) * dx0), lanes);
                float next = Float.float16ToFloat(w.get(SHORT_LE, wo + BLOCK_BYTES)) * dx1;
                lanes = ((FloatVector) sums.reinterpretShape(F8, 1)).fma(FloatVector.broadcast(F8, next), lanes);
                lanes.intoMemorySegment(acc, 32L * i, LE);
            }
        }
    }

    private static float hsum8(MemorySegment l, long at) {
        return LlamaCppMath.hsum8(l.get(FLOAT_LE, at), l.get(FLOAT_LE, at + 4), l.get(FLOAT_LE, at + 8),
                l.get(FLOAT_LE, at + 12), l.get(FLOAT_LE, at + 16), l.get(FLOAT_LE, at + 20),
                l.get(FLOAT_LE, at + 24), l.get(FLOAT_LE, at + 28));
    }

    /**
     * The narrow kernel: byte k of each little-endian 32-bit lane of 4 weight bytes, isolated by shifting
     * it to the top and back down (sign-extended), converted to float and multiplied with the
     * activations' k-th 8-float run.
     */
    private float dotRowNarrow(MemorySegment w, long base, int firstBlock, int blocks, float[] lanes) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, base += BLOCK_BYTES) {
            IntVector wv = IntVector.fromMemorySegment(I8, w, base + 2, LE);
            int xo = (firstBlock + b) * BLOCK;
            FloatVector k0 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k1 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k2 = (FloatVector) wv.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24)
                    .convert(VectorOperators.I2F, 0);
            FloatVector k3 = (FloatVector) wv.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
            FloatVector sum = k0.mul(FloatVector.fromArray(F8, x, xo));
            sum = k1.fma(FloatVector.fromArray(F8, x, xo + 8), sum);
            sum = k2.fma(FloatVector.fromArray(F8, x, xo + 16), sum);
            sum = k3.fma(FloatVector.fromArray(F8, x, xo + 24), sum);
            float scale = Float.float16ToFloat(w.get(SHORT_LE, base)) * d[firstBlock + b];
            acc = sum.fma(FloatVector.broadcast(F8, scale), acc);
        }
        acc.intoArray(lanes, 0);
        return hsum8(lanes, 0);
    }
}
