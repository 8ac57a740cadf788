package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.CpuVendor;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activations quantized to Q8_K and multiplied by Q4_K and Q6_K weights the way llama.cpp's x86 CPU
 * backend does.
 *
 * <p>llama.cpp multiplies K-quant weights by activations quantized to Q8_K ({@code quantize_row_q8_K}:
 * 256-value blocks, float scale {@code max/-127}, sums of each 16 values); the 4-row interleaved variant
 * {@code ggml_quantize_mat_q8_K_4x8} used for prompt batches rounds to the same values. The products are
 * then exact integer sums, and only the float accumulation around them decides the last bits, which the
 * random-weight test models amplify (see {@link Q8_0Activations}). So each kernel's order is reproduced:
 *
 * <ul>
 *   <li>Q6_K: {@code ggml_vec_dot_q6_K_q8_K} (AVX2 path, also taken by the AVX-512 builds), for one token
 *       and batches alike. Per 256-value super-block, 8 int32 lanes: lane L holds, for each 32-value chunk
 *       C, the unsigned 6-bit weights (0..63) times the activations at 32C+4L..32C+4L+3 scaled by sub-block
 *       scale {@code 2C + L/4}, minus {@code 32 * (bsums[2L]*sc[2L] + bsums[2L+1]*sc[2L+1])} (the weights'
 *       -32 offset); each lane is converted to float and fused-multiply-added with {@code d_x * d_w} into
 *       8 float accumulators, added up by {@code hsum_float_8}.
 *   <li>Q4_K: llama.cpp repacks these weights into 8-row groups ({@code block_q4_Kx8}) and runs
 *       {@code ggml_gemm_q4_K_8x8_q8_K} for tokens in whole groups of four (when a batch has more than
 *       three) and {@code ggml_gemv_q4_K_8x8_q8_K} for the rest. Every output is one lane with two float
 *       accumulators: integer sums of scale times weights times activations, fused-multiply-added with
 *       {@code d_w * d_x}, and of min times the activations' 32-value sums, with {@code dmin_w * d_x};
 *       the result is their difference. The gemv adds once per super-block, the gemm (AVX-512 and AVX2
 *       alike) once per pair of 32-value sub-blocks.
 * </ul>
 *
 * <p>Only the float steps are order-sensitive; the integer sums are exact in any order, so they run on
 * the Vector API. Each weight super-block is unpacked once ({@link Unpacked}) and then multiplied with
 * every token of the batch. With 512-bit vectors, one token takes fused paths ({@code rowsQ4K},
 * {@code rowsQ6K}: weights decoded straight into short products with the token, no unpacked copy), and
 * so do batches of up to 15 (Q4_K) or 63 (Q6_K) tokens, up to 12 (Q4_K) or 8 (Q6_K) tokens to each decoded
 * super-block ({@code rowsQ4KGemm4}, {@code rowsQ6K4}); larger batches put 16 tokens in the lanes of a vector
 * ({@code accumulateQ4KLanes}, {@code accumulateQ6KLanes}; two groups of 16 at a time where they can,
 * {@code accumulateQ4KLanes4x2}, {@code accumulateQ6KLanes4x2}): there the integer sums are formed by float
 * fused multiply-adds, exact because every partial sum is an integer below 2^24, and each lane then takes
 * the one-token kernel's float steps. With 8 int lanes (AVX2), one token (or a few) takes fused kernels
 * ({@code rowsQ4K8}, {@code rowsQ6K8}), and batches put 8 tokens in the lanes of a vector the same way
 * ({@code matmulLanes8}), with Q6_K's weights and activations rearranged so that each of llama.cpp's 8 lanes
 * reads its 32 values in one run.
 */
final class Q8_KActivations {
    private static final int BLOCK = 256;
    private static final int Q6_K_BYTES = 210;
    private static final int Q4_K_BYTES = 144;
    /** Work units ({@link MatrixOps#forRows}' multiply-adds) of quantizing or transposing one value. */
    private static final long QUANTIZE_WORK = 8;
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** 16 or 8 int lanes, or null where the Vector API kernels do not suit the CPU (scalar path). */
    private static final VectorSpecies<Integer> I = intSpecies();
    private static final int LANES = I == null ? 0 : I.length();
    /** Bytes with as many lanes as {@link #I}, so one load widens to one int vector. */
    private static final VectorSpecies<Byte> B =
            I == null ? null : VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    private static final VectorSpecies<Float> F = I == null ? null : I.withLanes(float.class);
    /** With 16 int lanes: 32 shorts (one Q6_K chunk of 32 values) and their 32 activation bytes. */
    private static final VectorSpecies<Short> S32 = LANES == 16 ? ShortVector.SPECIES_512 : null;
    private static final VectorSpecies<Byte> B32 = LANES == 16 ? ByteVector.SPECIES_256 : null;
    /** With 8 int lanes: 16 shorts (half a 32-value chunk) and the 16 bytes they widen from. */
    private static final VectorSpecies<Short> S16 = LANES == 8 ? ShortVector.SPECIES_256 : null;
    private static final VectorSpecies<Byte> B16 = LANES == 8 ? ByteVector.SPECIES_128 : null;
    /**
     * The one-token kernels' masks of each 16-bit half of an int: C2 shifts 16-bit lanes by a count it first
     * moves into a vector register (three instructions), 32-bit lanes by an immediate, and where a mask keeps
     * only bits that stay within their half the two shifts agree.
     */
    private static final IntVector NIBBLES = I == null ? null : IntVector.broadcast(I, 0x000f000f);
    private static final IntVector HIGH_BITS = I == null ? null : IntVector.broadcast(I, 0x00300030);
    private static final VectorSpecies<Byte> B8 = LANES == 8 ? ByteVector.SPECIES_64 : null;
    /** The two 128-bit halves of 8 float lanes swapped. */
    private static final VectorShuffle<Float> SWAP_128 =
            LANES == 8 ? VectorShuffle.fromOp(FloatVector.SPECIES_256, m -> m ^ 4) : null;
    /** Lanes 0, 2, 4, 6 of two 8-lane vectors side by side (and 1, 3, 5, 7): one fold adds neighbours. */
    private static final VectorShuffle<Integer> EVEN_LANES8 =
            LANES == 8 ? VectorShuffle.fromOp(IntVector.SPECIES_256, m -> m < 4 ? 2 * m : 8 + 2 * (m - 4)) : null;
    private static final VectorShuffle<Integer> ODD_LANES8 =
            LANES == 8 ? VectorShuffle.fromOp(IntVector.SPECIES_256, m -> m < 4 ? 2 * m + 1 : 9 + 2 * (m - 4)) : null;
    /**
     * {@link #rowsQ6K8}'s scales for chunk c of a half (8 scales of the half, as ints): lanes 0..3
     * {@code sc[2c]}, lanes 4..7 {@code sc[2c+1]}.
     */
    private static final VectorShuffle<Integer> SCALES8_0 = scales8(0);
    private static final VectorShuffle<Integer> SCALES8_1 = scales8(1);
    private static final VectorShuffle<Integer> SCALES8_2 = scales8(2);
    private static final VectorShuffle<Integer> SCALES8_3 = scales8(3);
    /**
     * Chunk c's sub-block scales for its 16 pair sums: {@code sc[2c]} for pairs 0..7 (values 0..15),
     * {@code sc[2c+1]} for pairs 8..15.
     */
    private static final VectorShuffle<Integer>[] CHUNK_SCALES = chunkScales();
    /** Pair sums {@code 2L} to lane L, {@code 2L+1} to lane L+8, so that one fold adds each Q6_K lane. */
    private static final VectorShuffle<Integer> EVEN_ODD = shuffle(m -> 2 * (m & 7) + (m >> 3));
    private static final VectorShuffle<Integer> SWAP_HALVES = shuffle(m -> m ^ 8);
    /**
     * {@link #rowsQ6K}'s scales for chunk pair p (chunks p and p + 4): lane m &lt; 8 holds values 4m..4m+3
     * of chunk p, scale {@code sc[2p + m/4]}; lane m &gt;= 8 those of chunk p + 4, {@code sc[8 + 2p + (m-8)/4]}.
     */
    private static final VectorShuffle<Integer> PAIR_SCALES0 = pairScales(0);
    private static final VectorShuffle<Integer> PAIR_SCALES1 = pairScales(1);
    private static final VectorShuffle<Integer> PAIR_SCALES2 = pairScales(2);
    private static final VectorShuffle<Integer> PAIR_SCALES3 = pairScales(3);
    /**
     * {@link #rowsQ4K}'s scales (lanes 0..7 of the scale vector, again in 8..15) for the four products of a
     * super-block: sub-blocks 0 | 2, 1 | 3, 4 | 6, 5 | 7 in lanes 0..7 | 8..15.
     */
    private static final VectorShuffle<Integer> Q4_SCALES0 = shuffle(m -> m < 8 ? 0 : 2);
    private static final VectorShuffle<Integer> Q4_SCALES1 = shuffle(m -> m < 8 ? 1 : 3);
    private static final VectorShuffle<Integer> Q4_SCALES2 = shuffle(m -> m < 8 ? 4 : 6);
    private static final VectorShuffle<Integer> Q4_SCALES3 = shuffle(m -> m < 8 ? 5 : 7);
    /** Of 32 shorts, the 16 at even positions, then the 16 at odd ones ({@link #evenOdd}). */
    private static final VectorShuffle<Short> EVENS_THEN_ODDS =
            LANES == 16 ? VectorShuffle.fromOp(S32, m -> m < 16 ? 2 * m : 2 * (m - 16) + 1) : null;
    /** Shorts 16..31 of a 32-short vector: two 64-byte loads 32 bytes apart blended into bytes 0..31 and 64..95. */
    private static final VectorMask<Short> UPPER_SHORTS = LANES == 16 ? VectorMask.fromLong(S32, 0xFFFF0000L) : null;
    /** Lane l takes lane l ^ k: butterfly steps of {@code hsum_float_8}. */
    private static final VectorShuffle<Float> XOR4 = LANES == 16 ? VectorShuffle.fromOp(F, m -> m ^ 4) : null;
    private static final VectorShuffle<Float> XOR2 = LANES == 16 ? VectorShuffle.fromOp(F, m -> m ^ 2) : null;
    private static final VectorShuffle<Float> XOR1 = LANES == 16 ? VectorShuffle.fromOp(F, m -> m ^ 1) : null;
    /** For {@code selectFrom(a, b)}: four lanes from each half of a, then of b, starting at lane 0 or 4 of each. */
    private static final IntVector LOW_QUARTERS = intLanes(m -> (m & 3) + ((m >> 2) & 1) * 8 + (m >> 3) * 16);
    private static final IntVector HIGH_QUARTERS = intLanes(m -> 4 + (m & 3) + ((m >> 2) & 1) * 8 + (m >> 3) * 16);
    /**
     * A Q4_K super-block's 12 bytes of 6-bit scales and mins (bytes 4..15 of its header) decoded in int lanes,
     * scales 0..7 in lanes 0..7 and mins 0..7 in lanes 8..15 (llama.cpp's {@code get_scale_min_k4}): each
     * lane's low bits are the byte {@link #Q4_LOW_BITS} picks, shifted down by {@link #Q4_LOW_SHIFTS} and
     * masked by {@link #Q4_LOW_MASKS}; scales and mins 4..7 take their top two bits from the top of the byte
     * {@link #Q4_TOP_BITS} picks ({@link #Q4_TOP_MASKS}).
     */
    private static final VectorShuffle<Integer> Q4_LOW_BITS = shuffle(m -> m < 4 ? m + 4 : m < 8 ? m + 8 : m);
    private static final IntVector Q4_LOW_SHIFTS = intLanes(m -> m >= 12 ? 4 : 0);
    private static final IntVector Q4_LOW_MASKS = intLanes(m -> (m & 4) == 0 ? 63 : 15);
    private static final VectorShuffle<Integer> Q4_TOP_BITS = shuffle(m -> m < 8 ? m : m - 4);
    private static final IntVector Q4_TOP_MASKS = intLanes(m -> (m & 4) == 0 ? 0 : 0x30);
    /** Int lanes 8..15. */
    private static final VectorMask<Integer> UPPER_INTS = LANES == 16 ? VectorMask.fromLong(I, 0xFF00L) : null;
    private static final VectorShuffle<Integer> XOR4_I = shuffle(m -> m ^ 4);
    private static final VectorShuffle<Integer> XOR2_I = shuffle(m -> m ^ 2);
    private static final VectorShuffle<Integer> XOR1_I = shuffle(m -> m ^ 1);
    /**
     * For {@code selectFrom(a, b)}, 4-lane units: a's unit 0, b's 0, a's 1, b's 1 ({@link #UNITS_LO}), or units 2
     * and 3 the same way ({@link #UNITS_HI}); a's units 0 and 1, then b's ({@link #PAIRS_LO}), or units 2 and 3
     * ({@link #PAIRS_HI}). Together a transpose of four vectors' 4-lane units ({@link Unpacked#scaledSixBitsAsFloats}).
     */
    private static final IntVector UNITS_LO = intLanes(m -> ((m >> 2) & 1) * 16 + (m >> 3) * 4 + (m & 3));
    private static final IntVector UNITS_HI = intLanes(m -> ((m >> 2) & 1) * 16 + 8 + (m >> 3) * 4 + (m & 3));
    private static final IntVector PAIRS_LO = intLanes(m -> (m >> 3) * 16 + (m & 7));
    private static final IntVector PAIRS_HI = intLanes(m -> (m >> 3) * 16 + 8 + (m & 7));
    /** Lane m takes lane m / 4, or 4 + m / 4: sub-block mins 0..3 or 4..7, each for four tokens. */
    private static final VectorShuffle<Integer> QUAD_LO = shuffle(m -> m >> 2);
    private static final VectorShuffle<Integer> QUAD_HI = shuffle(m -> 4 + (m >> 2));
    /**
     * {@link #rowsQ4KGemm4}'s fold of four tokens' quarters: lanes whose bit 1 (bit 0) is set, and for
     * {@code selectFrom(a, b)} each lane's partner 2 (1) apart, in a if the bit is clear, else in b.
     */
    private static final VectorMask<Integer> LANE_BIT1 = LANES == 16 ? VectorMask.fromLong(I, 0xCCCCL) : null;
    private static final VectorMask<Integer> LANE_BIT0 = LANES == 16 ? VectorMask.fromLong(I, 0xAAAAL) : null;
    private static final IntVector PARTNERS2 = intLanes(m -> (m & 2) == 0 ? m ^ 2 : 16 + (m ^ 2));
    private static final IntVector PARTNERS1 = intLanes(m -> (m & 1) == 0 ? m ^ 1 : 16 + (m ^ 1));
    /** The lane of token j of four within each quarter of {@link #rowsQ4KGemm4}'s sums: 0, 2, 1, 3. */
    private static final int[] GEMM_LANE = {0, 2, 1, 3};
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    /**
     * The one-token and four-token kernels' offsets into the token's values masked with this (a no-op: the
     * values are fewer, {@link #layOutTokens}): C2 then knows that the offset plus a load's constant cannot
     * overflow, and folds the constant into the load's address, where it had added and sign-extended it
     * for each of a super-block's 8 loads (16 instructions a super-block). Native memory for the values (read
     * by long offsets) was faster alone but not beside the model's mapped weights: the Vector API's shared
     * segment-load code then saw two segment classes (one thread, mapped weights, one-token Q4_K 1024 x 1024
     * 6.3-6.4 -> 8.1-8.7 ns per super-block).
     */
    private static final int SHORT_INDEX = 0x3fffffff;
    /**
     * Whether {@link #lanesXo} puts the Q6_K prompt activations on 64-byte boundaries, unless
     * {@code -Djgpt.alignedLanes=false} says otherwise. One Zen 5 thread, 1024 x 1024 by 128 tokens, ns per
     * super-block and token, 4 alternating pairs: 5.35-6.05 -> 4.83-5.12 (1024 x 2816, whose activations stream
     * from L2: 5.30-6.83 -> 5.00-6.12).
     */
    private static final boolean ALIGNED_LANES = Boolean.parseBoolean(
            System.getProperty("jgpt.alignedLanes", "true"));
    /**
     * Whether the one-token kernels ({@link #rowsQ4K}, {@link #rowsQ6K}) and {@link #rowsQ4KGemm4} add each int
     * lane's two short products by one multiply, {@code (p * 0x10001) >> 16} (the sum lands in the upper half,
     * exact since it fits a short), instead of {@code (p + (p << 16)) >> 16}: one instruction fewer, a multiply
     * for a shift and an add. On AMD CPUs: a Zen 4 issues at most two 512-bit operations a cycle, multiplies
     * (and fused multiply-adds) on one pipe and shifts on another, one a cycle each. One Zen 4 thread, mapped
     * weights, 4 alternating pairs of runs without and with, ns per super-block and token: Q4_K 1024 x 1024 by
     * 1 token 14.6-19.2 -> 14.4-17.5, by 8 10.1-11.3 -> 9.7-10.4; Q6_K 1024 x 2816 by 1 13.2-14.2 -> 12.6-13.1.
     * Not in {@link #rowsQ6K4}, which has more multiplies per token: by 8 tokens 9.8-10.3 -> 10.1-12.6. Intel
     * cores run vector multiplies and shifts on one port, where a 32-bit multiply takes two slots.
     */
    private static final boolean PAIR_MUL = Boolean.parseBoolean(
            System.getProperty("jgpt.kquant.pairMul", Boolean.toString(CpuVendor.AMD)));

    /**
     * Q6_K batches from this many tokens take the unpacked super-blocks (16 tokens to a vector), smaller ones
     * {@link #rowsQ6K4} a group of tokens at a time (and {@link #rowsQ6K} for the rest). One Zen 4 thread, ns
     * per super-block and token, unpacked against four at a time (groups of four then): 32000 x 256 n = 32
     * 17.7 / 15.4, n = 64 13.5 / 15.3, n = 128 12.8 / 16.6; 1024 x 1024 17.1 / 12.2, 14.7 / 11.6, 12.8 / 11.4;
     * 2816 x 1024 16.4 / 11.3, 13.4 / 11.7, 11.3 / 11.8. (Before the four-token kernel, one token at a time
     * took 16-18 at any n.)
     */
    private static final int Q6_K_BATCH_TOKENS = 64;
    /**
     * The default of {@link #loadAhead}: on Intel CPUs, unless {@code -Djgpt.kquant.loadAhead=true|false} says
     * otherwise. Off on AMD: on a Zen 5 (two vCPUs, 1 MB L2 each), bench-llama-q4_k_m decoding on two threads, 3
     * alternating pairs, 105.9 / 111.7 / 72.9 tokens/s without the loads, 87.1 / 53.5 / 62.0 with them.
     */
    private static final boolean LOAD_AHEAD = Boolean.parseBoolean(
            System.getProperty("jgpt.kquant.loadAhead", Boolean.toString(!CpuVendor.AMD)));
    /** How far ahead of the super-block in hand {@link #loadAhead} loads: about 14 Q4_K or 10 Q6_K super-blocks. */
    private static final long LOAD_AHEAD_BYTES = 2048;
    /**
     * Tokens that {@link #rowsQ6K4} takes to one decoding of each super-block: 8, where 4 at a time passed over
     * the rows twice for 8 tokens (reading and decoding the weights twice). One Zen 5 thread, ns per super-block
     * and token, 8 tokens, groups of 8 against 4 alternating in one JVM: 32000 x 256 8.5-9.1 / 11.0-11.2,
     * 1024 x 1024 6.9 / 7.9 (minimums). Groups of 16 and 32 helped 32000 x 256 at 16 tokens (7.9 against
     * 9.0) but not 1024 x 1024 (10.0 and 9.7 against 9.7; at 32 tokens 10.8 against 10.0).
     */
    private static final int Q6_K_GROUP_TOKENS = Math.max(1, Integer.getInteger("jgpt.q6.groupTokens", 8));
    /**
     * The same for Q4_K's gemm tokens ({@link #rowsQ4KGemm4}; a multiple of 4, all of them below 16 tokens):
     * one Zen 5 thread, ns per super-block and token, groups of 12 / 8 / 4 alternating in one JVM: 1024 x 1024
     * by 8 tokens 9.9 / 9.9 / 11.3, by 12 tokens 9.4 / 10.3 / 11.2; 2816 x 1024 by 8 tokens (8 / 4) 9.6 / 11.1.
     */
    private static final int Q4_K_GROUP_TOKENS = Math.max(1, Integer.getInteger("jgpt.q4.groupTokens", 12));
    /**
     * Q6_K rows whose super-blocks are unpacked together and multiplied with each group of tokens in turn.
     * 16, as for Q4_K, was slower (one Zen 5 thread, 1024 x 2816 by 128 tokens, alternating runs: 11.9 ->
     * 12.9 and 11.9 -> 13.3 ms): its accumulators, loaded and stored at every lane's end, then spill from L1.
     */
    private static final int Q6_K_TILE_ROWS = 8;
    /**
     * The same for Q4_K: each super-block's activations serve twice as many rows before the next super-block's
     * are read, which matters where a batch's activations outgrow L2 (2816-value rows: a 128-token batch's 8
     * groups of 16 tokens take 1.4 MB). One Zen 5 thread, 128 tokens, alternating runs, 8 -> 16 rows: 1024 x
     * 2816 7.8 -> 7.0 and 9.9 -> 8.8 ms (on a noisier day, best of six: 7.2 -> 7.0), 2816 x 1024 6.7 -> 6.4,
     * 4096 x 256 2.8 -> 2.6 (best of four: 2.73 -> 2.71).
     */
    private static final int Q4_K_TILE_ROWS = 16;
    /**
     * Rows whose prompt outputs are gathered before they go out token by token. Written straight to the
     * output (one token's row after another's, {@code rows} floats apart), each row's outputs fell into
     * the same few L1 sets whenever the row count was a power of two: one thread, n = 128, ns per 32
     * values and token, 1024 x 1024 Q4_K 0.81 against 0.62 at 1032 rows, 1024 x 256 Q6_K 1.79 against 1.07
     * (staged: 0.62 and 1.07 for both). A multiple of {@link #Q6_K_TILE_ROWS} and {@link #Q4_K_TILE_ROWS}, so
     * that no tile straddles two stages.
     */
    private static final int STAGE_ROWS = 32;
    /** Floats between two tokens' staged outputs: 48, so that consecutive tokens start in other L1 sets. */
    private static final int STAGE_STRIDE = 48;
    /** Accumulator floats per group of 16 tokens in the prompt kernels (Q6_K: 8 lanes of 16 tokens). */
    private static final int GROUP_ACC = 128;
    /**
     * The same for Q4_K: products and mins, 16 tokens each. At 128 floats, as for Q6_K, a 16-row tile's
     * accumulators took 64 KB, more than L1 holds, and every super-block's updates and the finishing went to L2.
     */
    private static final int GROUP_ACC_Q4 = 32;

    /**
     * With 8 int lanes (AVX2): a group of this many tokens (Q6_K, Q4_K) takes {@link #matmulLanes8}, 8 tokens to a
     * vector; fewer (alone or left over past whole groups) take the fused one-token kernels, which beat a group
     * with empty lanes there. One Zen 3 thread, 512 x 256, ns per super-block and token, fused against one
     * group: Q6_K 2 tokens 43 / 102, 4 44-48 / 48-54, 6 44 / 32; Q4_K 2 34 / 97, 4 38 / 54, 6 38 / 39.
     */
    private static final int LANES8_MIN_TOKENS_Q6 = 5;
    private static final int LANES8_MIN_TOKENS_Q4 = 7;
    /**
     * Rows of {@link #matmulLanes8}'s kernels: C2 loads all of an iteration's broadcasts first, and with four
     * rows (8 accumulators, 8 broadcasts and 2 activation vectors) it ran out of the 16 vector registers and
     * kept accumulators on the stack.
     */
    private static final int LANES8_KERNEL_ROWS = 3;
    /**
     * Rows of {@link #matmulLanes8}'s tiles: a multiple of {@link #LANES8_KERNEL_ROWS} and of 4 (the two-group
     * kernels' rows).
     */
    private static final int LANES8_TILE_ROWS = 12;
    /**
     * {@link #STAGE_ROWS} for {@link #matmulLanes8}: a multiple of {@link #LANES8_TILE_ROWS} (no tile straddles
     * two stages), at most {@link #STAGE_STRIDE}.
     */
    private static final int LANES8_STAGE_ROWS = 36;
    /** Accumulator floats per group of 8 tokens in {@link #matmulLanes8} (Q6_K: 8 lanes of 8 tokens). */
    private static final int GROUP_ACC8 = 64;
    /** The same for Q4_K: gemm products and mins, gemv products and mins, 8 tokens each. */
    private static final int GROUP_ACC8_Q4 = 32;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Quantized values, in order. */
    private byte[] q = new byte[0];
    /** Each block's scale (float, as llama.cpp stores it). */
    private float[] d = new float[0];
    /**
     * Whether the one-token kernels ({@link #rowsQ4K}, {@link #rowsQ6K}; with 8 int lanes {@link #rowsQ4K8},
     * {@link #rowsQ6K8}) load one byte of each cache line
     * {@link #LOAD_AHEAD_BYTES} ahead of the super-block in hand, spread over the super-blocks as
     * {@code Q8_0Activations.dotFourRows} does for streamed Q8_0 weights: weights that are not in L2 otherwise
     * arrive only as fast as the out-of-order window reaches them, and their loads add to the arithmetic
     * instead of overlapping it. Same bits (the loads' sum is kept but not used). On an Intel Xeon (two vCPUs,
     * 2 MB L2 each, 480 MB L3), bench-llama-q4_k_m (208 MB) decoding on two threads, 4 alternating pairs:
     * 47.7-50.0 -> 51.4-53.8 tokens/s (1 to 6 KB ahead alike); one thread 25.6 / 26.1 -> 27.6 / 29.1;
     * tiny-llama-q4_k_m, whose 32000 x 256 Q6_K output alone is 6.6 MB, two threads 2 128 / 2 171 -> 2 278 /
     * 2 319. Not in the batch kernels ({@link #rowsQ4KGemm4}, {@link #rowsQ6K4}), with 2-3 times the arithmetic
     * per byte: bench-llama-q4_k_m's 8 sequences 91.8-93.7 without, 89.3-95.5 with. The 256-bit kernels on the
     * same machine ({@code -Djgpt.vectorBits=256}), 3 alternating pairs: bench-llama-q4_k_m 29.3-32.1 -> 38.7-43.3
     * tokens/s; tiny-llama-q4_k_m 1 784 / 1 785 -> 1 746 / 1 807, the same.
     */
    boolean loadAhead = LOAD_AHEAD;

    /**
     * The super-block offset in {@code w} from which {@link #loadAhead} loads nothing ({@link #loadLines} would
     * read past the tensor), or 0 when it is off.
     */
    private long aheadEnd(MemorySegment w, int blockBytes) {
        return loadAhead ? w.byteSize() - LOAD_AHEAD_BYTES - 64L * ((blockBytes - 1) / 64) : 0;
    }

    /** One byte of each cache line of the {@code blockBytes} from {@code a} on, summed (for {@link #loadAhead}). */
    private static long loadLines(MemorySegment w, long a, int blockBytes) {
        long sum = 0;
        for (int o = 0; o < blockBytes; o += 64) {
            sum += w.get(ValueLayout.JAVA_BYTE, a + o);
        }
        return sum;
    }

    /** Sums of each 16 quantized values. */
    private int[] bsums = new int[0];
    /** The quantized values as shorts, for {@link #rowsQ4K8}. */
    private short[] tokenShorts = new short[0];
    /** The fused Q4_K kernels' sums of each 32 quantized values (8 ints longer: vector loads stay in bounds). */
    private int[] tokenSubSums = new int[0];
    /**
     * The quantized activations rearranged for {@link #rowsQ6K} and {@link #rowsQ6K4}: per super-block and
     * chunk pair p, 32 shorts of the even positions (values 32p + 2k, then 128 + 32p + 2k, k = 0..15), then 32
     * of the odd ones; with 8 int lanes, per 32-value chunk its 16 even values, then its odd ones
     * ({@link #rowsQ6K8}).
     */
    private short[] tokenPairs = new short[0];
    /**
     * {@link #rowsQ6K8}'s block sums of each super-block, the even ones ({@code bsums[2L]}) then the odd ones:
     * lane L's offset then takes two products without a two-vector shuffle.
     */
    private int[] tokenBsumPairs = new int[0];
    /**
     * The quantized activations rearranged for {@link #rowsQ4K}: per super-block, half h and nibble u (low,
     * high), 32 shorts of the even positions of sub-blocks 4h + u and 4h + 2 + u (values 128h + 32u + 2k,
     * then 128h + 64 + 32u + 2k, k = 0..15), then 32 of the odd ones.
     */
    private short[] tokenQ4Pairs = new short[0];
    /**
     * {@link #rowsQ4KGemm4}'s copy of the gemm tokens' 32-value sub-block sums, four tokens to a quarter: per
     * group of four tokens, block and sub-block s, the four tokens' sums.
     */
    private int[] gemmSubSums = new int[0];
    /** The same for the tokens' block scales: per group of four tokens and block, the four tokens' scales. */
    private float[] gemmScales = new float[0];
    /**
     * The prompt kernel's copy of the activations, 16 tokens to a vector ({@link #transpose}; 8 with 8 int lanes,
     * {@link #transposeLanes8}): per group of tokens, per column, the group's quantized values as floats. With 16
     * int lanes only for Q6_K, whose kernels C2 compiled with more stack traffic on {@link #lanesXs} (one thread,
     * 1024 x 2816 by 128 tokens, 7.2 against 8.8 ns per super-block and token).
     */
    private float[] lanesX = new float[0];
    /**
     * Where {@link #lanesX}' values start with 16 int lanes: its first index on a 64-byte boundary when it was
     * filled ({@link dev.jgpt.engine.tensor.Alignment}), so that each 16-float load of the Q6_K prompt kernels
     * stays in one cache line (0 with 8 lanes).
     */
    private int lanesXo;
    /**
     * The same for Q4_K with 16 int lanes, in native memory on 64-byte boundaries: each 16-float load of a Java
     * array straddles two cache lines (one thread, 2816 x 1024 by 128 tokens, medians of 8 alternating rounds in
     * one JVM: 4.3 -> 3.9 ns per super-block and token).
     */
    private MemorySegment lanesXs = MemorySegment.NULL;
    /** {@link #q} read as ints (four values each), for {@link #transposeValues}' gathers. */
    private int[] qInts = new int[0];
    /** Ints between the 16 tokens of a group in {@link #qInts}: {@code cols / 4} apart. */
    private final int[] gatherMap = new int[16];
    /** Per group of 16 tokens and block: the 16 tokens' scales. */
    private float[] lanesD = new float[0];
    /** Per group of 16 tokens, block and 32-value sub-block: the 16 tokens' sums of quantized values. */
    private float[] lanesSums = new float[0];
    /** Per group of 16 tokens, block and 16-value sub-block: the 16 tokens' sums of quantized values. */
    private int[] lanesBsums = new int[0];
    /** Counts the quantizations, so that {@link #matmulLanes8} knows when its transposed copy is current. */
    private int generation;
    /**
     * The quantization ({@link #generation}) and the tokens ({@code first << 32 | values}) that
     * {@link #tokenActivations} last laid out for Q4_K, and for Q6_K, or -1 for none: products on the same
     * activations (a layer's Q and K, its gate and up) take the layout as it is.
     */
    private int tokenQ4Generation = -1;
    private long tokenQ4Span;
    private int tokenQ6Generation = -1;
    private long tokenQ6Span;
    /** The quantization {@link #lanesX} was transposed from ({@link #transpose}, {@link #matmulLanes8}; -1: none). */
    private int lanesGeneration = -1;
    /** ... and its columns, tokens and value order. */
    private long lanesLayout;

    /**
     * True if llama.cpp multiplies a matrix of this type and row count with Q8_K activations through the
     * kernels reproduced here (Q4_K is repacked only when its rows fill groups of 8; otherwise llama.cpp
     * would use {@code ggml_vec_dot_q4_K_q8_K}, which this class does not reproduce).
     */
    static boolean handles(GgmlType weightType, int rows) {
        // llama.cpp repacks Q4_K into 8-row groups only when the row count allows it
        return weightType == GgmlType.Q6_K || (weightType == GgmlType.Q4_K && rows % 8 == 0);
    }

    /** Quantizes {@code len} floats (whole blocks) exactly like {@code quantize_row_q8_K_ref}. */
    void quantize(float[] x, int len) {
        generation++;
        int blocks = len / BLOCK;
        if (q.length < len) {
            q = new byte[len];
            d = new float[blocks];
            bsums = new int[blocks * 16];
        }
        // blocks are independent: a prompt's are split across the pool (on one thread, a 128-token prompt's
        // quantizations kept the other core idle for ~5% of a tiny model's prompt)
        MatrixOps.shared().forRows(blocks, (long) len * QUANTIZE_WORK, (from, to) -> quantizeBlocks(x, from, to));
    }

    private void quantizeBlocks(float[] x, int from, int to) {
        if (LANES > 0) {
            quantizeBlocksVector(x, from, to);
            return;
        }
        for (int b = from; b < to; b++) {
            quantizeBlockScalar(x, b);
        }
    }

    /**
     * {@link #quantizeBlocks} on 256-bit vectors, to the same bits: the largest magnitude by a vector maximum
     * and its first position by a vector search (the scalar loop keeps the first of equal magnitudes, whose
     * sign decides the scale); {@code rint} of the scaled values (all within ±127.5) by adding and subtracting
     * 1.5 * 2^23, which rounds half to even as {@code Math.rint} does. Blocks with a NaN take the scalar steps.
     * One thread, a 128-token prompt's 256-column activations: the scalar loop took about a tenth of a
     * 256 x 256 Q4_K product's time.
     */
    private void quantizeBlocksVector(float[] x, int from, int to) {
        VectorSpecies<Float> fs = FloatVector.SPECIES_256;
        for (int b = from; b < to; b++) {
            int o = b * BLOCK;
            FloatVector m = FloatVector.zero(fs);
            for (int i = 0; i < BLOCK; i += 8) {
                m = m.max(FloatVector.fromArray(fs, x, o + i).abs());
            }
            float amax = m.reduceLanes(VectorOperators.MAX);
            int at = -1;
            if (amax > 0f) {
                for (int i = 0; i < BLOCK; i += 8) {
                    int k = FloatVector.fromArray(fs, x, o + i).abs().eq(amax).firstTrue();
                    if (k < 8) {
                        at = o + i + k;
                        break;
                    }
                }
            }
            if (at < 0) {
                // all zero, or a NaN (the vector maximum differs from the scalar loop's there)
                quantizeBlockScalar(x, b);
                continue;
            }
            float iscale = -127f / x[at];
            int so = b * 16;
            for (int i = 0; i < BLOCK; i += 16) {
                // min(127, (int) Math.rint(v)), written out (a helper taking a vector may be left out of line)
                IntVector q0 = ((IntVector) FloatVector.fromArray(fs, x, o + i).mul(iscale).add(12582912f)
                        .sub(12582912f).convert(VectorOperators.F2I, 0)).min(127);
                IntVector q1 = ((IntVector) FloatVector.fromArray(fs, x, o + i + 8).mul(iscale).add(12582912f)
                        .sub(12582912f).convert(VectorOperators.F2I, 0)).min(127);
                ((ByteVector) q0.convertShape(VectorOperators.I2B, ByteVector.SPECIES_64, 0)).intoArray(q, o + i);
                ((ByteVector) q1.convertShape(VectorOperators.I2B, ByteVector.SPECIES_64, 0)).intoArray(q, o + i + 8);
                bsums[so + i / 16] = q0.add(q1).reduceLanes(VectorOperators.ADD);
            }
            d[b] = 1f / iscale;
        }
    }

    /** One block of {@link #quantizeBlocks}, scalar. */
    private void quantizeBlockScalar(float[] x, int b) {
        int o = b * BLOCK;
        float amax = 0f;
        float max = 0f;
        for (int i = 0; i < BLOCK; i++) {
            float ax = Math.abs(x[o + i]);
            if (ax > amax) {
                amax = ax;
                max = x[o + i];
            }
        }
        if (amax == 0f) {
            d[b] = 0f;
            java.util.Arrays.fill(q, o, o + BLOCK, (byte) 0);
            java.util.Arrays.fill(bsums, b * 16, b * 16 + 16, 0);
            return;
        }
        float iscale = -127f / max;
        for (int i = 0; i < BLOCK; i++) {
            q[o + i] = (byte) Math.min(127, (int) Math.rint(iscale * x[o + i]));
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) {
                sum += q[o + j * 16 + i];
            }
            bsums[b * 16 + j] = sum;
        }
        d[b] = 1f / iscale;
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]} for the {@code n} rows of {@code cols} values quantized last,
     * with W a Q4_K or Q6_K matrix of {@code rows} rows.
     */
    void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
        MemorySegment seg = w.data();
        int blocks = cols / BLOCK;
        boolean q4 = w.type() == GgmlType.Q4_K;
        // Q4_K: tokens in whole groups of four go through the gemm kernel (when there are more than three),
        // the rest through the gemv kernel
        int gemmTokens = q4 && n > 3 ? n - n % 4 : 0;
        // Tokens in whole groups of 16 (for Q4_K: gemm tokens) take the prompt kernels, 16 tokens to a vector;
        // Q4_K from 16 gemm tokens on also when 8 or more are left over, in a last group with empty lanes (one
        // Zen 5 thread, 2816 x 1024, 8 tokens: 2.0 against 3.4 ns per 32 values and token in the one-token gemm
        // kernel of the time)
        int laneTokens = q4 ? gemmTokens : n;
        int groups = LANES == 16 ? laneTokens / 16 + (q4 && laneTokens % 16 >= 8 ? 1 : 0) : 0;
        if (LANES == 8 && n >= (q4 ? LANES8_MIN_TOKENS_Q4 : LANES8_MIN_TOKENS_Q6)) {
            matmulLanes8(seg, n, out, rows, cols, q4, gemmTokens);
            return;
        }
        if (LANES == 8) {
            // 8 int lanes (AVX2), one token or a few: the fused one-token kernel, token after token (Q4_K gemm
            // tokens in gemm order). All batches had taken it (on super-blocks unpacked to ints and multiplied one
            // token at a time they had been slower: one Zen 1 thread, ns per super-block and token, 8 tokens: Q4_K
            // 2816 x 1024 100 unpacked, 80-83 fused; Q6_K 1024 x 1024 172 unpacked, 88-94 fused)
            tokenActivations(0, n, cols, q4);
            MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
                Scratch s = SCRATCH.get();
                for (int t = 0; t < n; t++) {
                    if (q4) {
                        s.touched += rowsQ4K8(seg, from, to, blocks, t, t < gemmTokens, out, t * rows);
                    } else {
                        s.touched += rowsQ6K8(seg, from, to, blocks, t, out, t * rows);
                    }
                }
            });
            return;
        }
        if (LANES == 16 && (q4 ? gemmTokens < 16 : n < Q6_K_BATCH_TOKENS)) {
            // Q4_K with fewer than 16 gemm tokens, or Q6_K with fewer than Q6_K_BATCH_TOKENS: the fused kernels,
            // four tokens at a time on each row (Q4_K: the gemm tokens; read from memory once, then from L1), the
            // others one token at a time over the chunk's rows (in the caches after the first). One Zen 4
            // thread, Q4_K, ns per super-block and token, 8 tokens: 22.3-22.6 in a 16-lane group with empty
            // lanes, 15.3-17.3 four at a time; 16 tokens in a full group 11.4-13.7.
            tokenActivations(0, n, cols, q4);
            if (gemmTokens > 0) {
                gemmLayout(gemmTokens, blocks);
            }
            MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
                Scratch s = SCRATCH.get();
                if (q4) {
                    float[] acc = gemmTokens > 0 ? s.gemmAcc : null;
                    for (int t = 0; t < gemmTokens; ) {
                        int count = Math.min(gemmTokens - t, Q4_K_GROUP_TOKENS);
                        rowsQ4KGemm4(seg, from, to, blocks, t, count, out, rows, acc, s.lanes, s.folded);
                        t += count;
                    }
                    for (int t = gemmTokens; t < n; t++) {
                        s.touched += rowsQ4K(seg, from, to, blocks, t, out, t * rows);
                    }
                } else {
                    int fours = n - n % 4;
                    float[] acc = fours > 0 ? s.q6Acc : null;
                    for (int t = 0; t < fours; ) {
                        int count = Math.min(fours - t, Q6_K_GROUP_TOKENS);
                        rowsQ6K4(seg, from, to, blocks, t, count, out, rows, acc);
                        t += count;
                    }
                    for (int t = fours; t < n; t++) {
                        s.touched += rowsQ6K(seg, from, to, blocks, t, out, t * rows);
                    }
                }
            });
            return;
        }
        int firstToken = Math.min(groups * 16, laneTokens);
        int tileRows = q4 ? Q4_K_TILE_ROWS : Q6_K_TILE_ROWS;
        // products on the same activations in the same order (a layer's Q and K, its gate and up) share the
        // transposed copy
        long layout = (long) cols << 32 | (long) firstToken << 1 | (q4 ? 0 : 1);
        if (groups > 0 && (lanesGeneration != generation || lanesLayout != layout)) {
            transpose(groups, cols, firstToken, !q4);
            lanesGeneration = generation;
            lanesLayout = layout;
        }
        // accumulators: GROUP_ACC (Q4_K: GROUP_ACC_Q4) floats per group, then 16 per remaining token
        int groupAcc = q4 ? GROUP_ACC_Q4 : GROUP_ACC;
        int tokenAcc = groups * groupAcc - firstToken * 16;
        int accSize = tokenAcc + n * 16;
        // chunks of whole tiles: in chunks of 8 rows (MatrixOps' default) a Q4_K tile held 8 rows, not 16, and
        // every group's activations were read once per 8 rows
        MatrixOps.shared().forRows(rows, (long) rows * n * cols, tileRows, (from, to) -> {
            Scratch s = SCRATCH.get();
            float[] stage = s.rowStage(n);
            int rs = s.rowStride;
            // rows go in tiles, so that a group's activations (16 KB per 256 columns) are read from the
            // nearest cache for every row of the tile; their outputs are staged STAGE_ROWS rows at a time
            for (int r0 = from; r0 < to; r0 += tileRows) {
                int staged = (r0 - from) % STAGE_ROWS;
                int tile = Math.min(tileRows, to - r0);
                float[] acc = s.accumulators(tile * accSize);
                java.util.Arrays.fill(acc, 0, tile * accSize, 0f);
                for (int b = 0; b < blocks; b++) {
                    for (int i = 0; i < tile; i++) {
                        Unpacked u = s.tile[i];
                        long block = (long) (r0 + i) * blocks + b;
                        if (q4) {
                            u.unpackQ4K(seg, block * Q4_K_BYTES);
                            if (groups > 0) {
                                u.valuesAsFloats();
                            }
                        } else {
                            u.unpackQ6K(seg, block * Q6_K_BYTES);
                            if (groups > 0) {
                                u.scaledSixBitsAsFloats();
                            }
                        }
                    }
                    for (int g = 0; g < groups; g++) {
                        int i = 0;
                        if (g + 1 < groups && tile >= 4) {
                            // two groups at once for whole 4-row tiles, the rest of the tile as below
                            for (; i + 4 <= tile; i += 4) {
                                if (q4) {
                                    accumulateQ4KLanes4x2(s.tile, i, g, b, blocks, cols, acc,
                                            i * accSize + g * groupAcc, accSize);
                                } else {
                                    accumulateQ6KLanes4x2(s.tile, i, g, b, blocks, cols, acc,
                                            i * accSize + g * groupAcc, accSize);
                                }
                            }
                            for (; i < tile; i++) {
                                for (int h = g; h < g + 2; h++) {
                                    int a = i * accSize + h * groupAcc;
                                    if (q4) {
                                        accumulateQ4KLanes(s.tile[i], h, b, blocks, cols, acc, a);
                                    } else {
                                        accumulateQ6KLanes(s.tile[i], h, b, blocks, cols, acc, a);
                                    }
                                }
                            }
                            g++;
                            continue;
                        }
                        for (; i + 4 <= tile; i += 4) {
                            if (q4) {
                                accumulateQ4KLanes4(s.tile, i, g, b, blocks, cols, acc, i * accSize + g * groupAcc,
                                        accSize);
                            } else {
                                accumulateQ6KLanes4(s.tile, i, g, b, blocks, cols, acc, i * accSize + g * groupAcc,
                                        accSize);
                            }
                        }
                        for (; i < tile; i++) {
                            int a = i * accSize + g * groupAcc;
                            if (q4) {
                                accumulateQ4KLanes(s.tile[i], g, b, blocks, cols, acc, a);
                            } else {
                                accumulateQ6KLanes(s.tile[i], g, b, blocks, cols, acc, a);
                            }
                        }
                    }
                    for (int i = 0; i < tile; i++) {
                        for (int t = firstToken; t < n; t++) {
                            int a = i * accSize + tokenAcc + t * 16;
                            if (q4) {
                                accumulateQ4K(s, s.tile[i], t * blocks + b, t < gemmTokens, acc, a);
                            } else {
                                accumulateQ6K(s, s.tile[i], t * blocks + b, acc, a);
                            }
                        }
                    }
                }
                for (int i = 0; i < tile; i++) {
                    int r = staged + i;
                    for (int g = 0; g < groups; g++) {
                        // a last group's empty lanes land on the next group's places or the padding, both
                        // written over or never read
                        finishedLanes(q4, acc, i * accSize + g * groupAcc).intoArray(stage, r * rs + 16 * g);
                    }
                    for (int t = firstToken; t < n; t++) {
                        int a = i * accSize + tokenAcc + t * 16;
                        stage[r * rs + t] = q4 ? acc[a] - acc[a + 1]
                                : LlamaCppMath.hsum8(acc[a], acc[a + 1], acc[a + 2], acc[a + 3], acc[a + 4],
                                        acc[a + 5], acc[a + 6], acc[a + 7]);
                    }
                }
                int done = staged + tile;
                if (done == STAGE_ROWS || r0 + tile == to) {
                    int first = r0 + tile - done;
                    int whole = done & -16;
                    for (int t = 0; t < n; t++) {
                        // 16 rows' outputs of token t gathered from the staged rows
                        for (int r = 0; r < whole; r += 16) {
                            FloatVector.fromArray(F, stage, r * rs + t, s.rowMap, 0)
                                    .intoArray(out, t * rows + first + r);
                        }
                        for (int r = whole; r < done; r++) {
                            out[t * rows + first + r] = stage[r * rs + t];
                        }
                    }
                }
            }
        });
    }

    /**
     * {@link #matmul} for batches with 8 int lanes (AVX2): 8 tokens to a float vector, as the 16-lane prompt
     * kernels do with 16. Each weight super-block of a tile of rows is unpacked once into floats (weight
     * times sub-block scale) and multiplied with every group of 8 tokens, four rows at a time
     * ({@link #accumulateQ4KLanes8}, {@link #accumulateQ6KLanes8}); the
     * integer sums are formed by float fused multiply-adds, exact because every partial sum is an integer below
     * 2^24, and each lane then takes the one-token kernel's float steps. A last group of fewer than
     * {@link #LANES8_MIN_TOKENS_Q6} (Q4_K: {@link #LANES8_MIN_TOKENS_Q4}) tokens takes the fused one-token
     * kernels.
     */
    private void matmulLanes8(MemorySegment seg, int n, float[] out, int rows, int cols, boolean q4, int gemmTokens) {
        int blocks = cols / BLOCK;
        int groups = n / 8 + (n % 8 >= (q4 ? LANES8_MIN_TOKENS_Q4 : LANES8_MIN_TOKENS_Q6) ? 1 : 0);
        int laneTokens = Math.min(8 * groups, n);
        if (laneTokens < n) {
            tokenActivations(laneTokens, n, cols, q4);
        }
        // products on the same activations (a layer's Q, K and V) share the transposed copy
        long layout = (long) cols << 32 | (long) laneTokens << 1 | (q4 ? 0 : 1);
        if (lanesGeneration != generation || lanesLayout != layout) {
            transposeLanes8(groups, cols, laneTokens, !q4);
            lanesGeneration = generation;
            lanesLayout = layout;
        }
        int tileRows = LANES8_TILE_ROWS;
        int groupAcc = q4 ? GROUP_ACC8_Q4 : GROUP_ACC8;
        int accSize = groups * groupAcc;
        MatrixOps.shared().forRows(rows, (long) rows * n * cols, (from, to) -> {
            Scratch s = SCRATCH.get();
            float[] stage = s.stage(n);
            float[] lanes = s.lanes;
            for (int r0 = from; r0 < to; r0 += tileRows) {
                int staged = (r0 - from) % LANES8_STAGE_ROWS;
                int tile = Math.min(tileRows, to - r0);
                // the kernels take LANES8_KERNEL_ROWS or 4 rows: past the tile's end, spare rows whose outputs are
                // not read
                int kernelRows = LANES8_TILE_ROWS;
                float[] acc = s.accumulators(kernelRows * accSize);
                java.util.Arrays.fill(acc, 0, kernelRows * accSize, 0f);
                for (int b = 0; b < blocks; b++) {
                    for (int i = 0; i < tile; i++) {
                        long block = (long) (r0 + i) * blocks + b;
                        if (q4) {
                            unpackQ4KLanes8(seg, block * Q4_K_BYTES, s, i);
                        } else {
                            unpackQ6KLanes8(seg, block * Q6_K_BYTES, s, i);
                        }
                    }
                    for (int g = 0; g < groups; g++) {
                        if (q4 && g + 1 < groups && 8 * g + 16 <= gemmTokens) {
                            // Q4_K: two groups of gemm tokens at a time, four rows at a time (for Q6_K, two groups
                            // with a chain per half of a lane took 10-20% longer than one group: one Zen 3
                            // thread, 512 x 256 by 128 tokens, 17.2-17.7 -> 19.6-21.6 ns per super-block and
                            // token)
                            for (int i = 0; i < tile; i += 4) {
                                accumulateQ4KLanes8x2(s, i, g, b, blocks, cols, acc, i * accSize + g * groupAcc,
                                        accSize);
                            }
                            g++;
                            continue;
                        }
                        boolean gemmOnly = 8 * g + 8 <= gemmTokens;
                        for (int i = 0; i < tile; i += LANES8_KERNEL_ROWS) {
                            int a = i * accSize + g * groupAcc;
                            if (!q4) {
                                accumulateQ6KLanes8(s, i, g, b, blocks, cols, acc, a, accSize);
                            } else {
                                accumulateQ4KLanes8(s, i, g, b, blocks, cols, acc, a, accSize, !gemmOnly);
                            }
                        }
                    }
                }
                for (int i = 0; i < tile; i++) {
                    int r = staged + i;
                    for (int g = 0; g < groups; g++) {
                        int a = i * accSize + g * groupAcc;
                        if (q4) {
                            // gemm lanes: products minus mins of the gemm accumulators; the others the gemv ones
                            FloatVector.fromArray(F, acc, a).sub(FloatVector.fromArray(F, acc, a + 8))
                                    .intoArray(lanes, 0);
                            FloatVector.fromArray(F, acc, a + 16).sub(FloatVector.fromArray(F, acc, a + 24))
                                    .intoArray(lanes, 8);
                            int gemmLanes = Math.max(0, Math.min(8, gemmTokens - 8 * g));
                            for (int l = 0; l < 8 && 8 * g + l < laneTokens; l++) {
                                stage[(8 * g + l) * STAGE_STRIDE + r] = l < gemmLanes ? lanes[l] : lanes[8 + l];
                            }
                        } else {
                            // hsum_float_8 lane by lane: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
                            FloatVector l0 = FloatVector.fromArray(F, acc, a);
                            FloatVector l1 = FloatVector.fromArray(F, acc, a + 8);
                            FloatVector l2 = FloatVector.fromArray(F, acc, a + 16);
                            FloatVector l3 = FloatVector.fromArray(F, acc, a + 24);
                            FloatVector l4 = FloatVector.fromArray(F, acc, a + 32);
                            FloatVector l5 = FloatVector.fromArray(F, acc, a + 40);
                            FloatVector l6 = FloatVector.fromArray(F, acc, a + 48);
                            FloatVector l7 = FloatVector.fromArray(F, acc, a + 56);
                            l0.add(l4).add(l2.add(l6)).add(l1.add(l5).add(l3.add(l7))).intoArray(lanes, 0);
                            for (int l = 0; l < 8 && 8 * g + l < laneTokens; l++) {
                                stage[(8 * g + l) * STAGE_STRIDE + r] = lanes[l];
                            }
                        }
                    }
                }
                int done = staged + tile;
                if (done == LANES8_STAGE_ROWS || r0 + tile == to) {
                    int first = r0 + tile - done;
                    for (int t = 0; t < laneTokens; t++) {
                        System.arraycopy(stage, t * STAGE_STRIDE, out, t * rows + first, done);
                    }
                }
            }
            for (int t = laneTokens; t < n; t++) {
                if (q4) {
                    s.touched += rowsQ4K8(seg, from, to, blocks, t, t < gemmTokens, out, t * rows);
                } else {
                    s.touched += rowsQ6K8(seg, from, to, blocks, t, out, t * rows);
                }
            }
        });
    }

    /**
     * {@link #transpose} with 8 tokens to a group (8 int lanes): {@link #lanesX} per group and column the 8
     * tokens' values, {@link #lanesD} per group and block their scales, {@link #lanesSums} per group, block and
     * 32-value sub-block their sums, {@link #lanesBsums} per group, block and 16-value sub-block theirs; lanes
     * of tokens from {@code tokens} on are zero. With {@code q6}, each block's values in {@link #q6LaneOrder}.
     */
    private void transposeLanes8(int groups, int cols, int tokens, boolean q6) {
        int blocks = cols / BLOCK;
        lanesXo = 0;
        if (lanesX.length < groups * 8 * cols) {
            lanesX = new float[groups * 8 * cols];
            lanesD = new float[groups * 8 * blocks];
            lanesSums = new float[groups * 8 * blocks * 8];
            lanesBsums = new int[groups * 8 * blocks * 16];
        }
        MatrixOps.shared().forRows(groups, (long) groups * 8 * cols * QUANTIZE_WORK,
                (from, to) -> transposeGroups8(from, to, cols, tokens, q6));
    }

    private void transposeGroups8(int from, int to, int cols, int tokens, boolean q6) {
        int blocks = cols / BLOCK;
        for (int g = from; g < to; g++) {
            for (int l = 0; l < 8; l++) {
                int t = 8 * g + l;
                boolean empty = t >= tokens;
                for (int c = 0; c < cols; c++) {
                    int at = q6 ? q6Column(c) : c;
                    lanesX[(g * cols + at) * 8 + l] = empty ? 0f : q[t * cols + c];
                }
                for (int b = 0; b < blocks; b++) {
                    int xb = t * blocks + b;
                    int gb = g * blocks + b;
                    lanesD[gb * 8 + l] = empty ? 0f : d[xb];
                    for (int i = 0; i < 16; i++) {
                        lanesBsums[(gb * 16 + i) * 8 + l] = empty ? 0 : bsums[xb * 16 + i];
                    }
                    for (int sub = 0; sub < 8; sub++) {
                        lanesSums[(gb * 8 + sub) * 8 + l] =
                                empty ? 0f : bsums[xb * 16 + 2 * sub] + bsums[xb * 16 + 2 * sub + 1];
                    }
                }
            }
        }
    }

    /**
     * Where {@link #matmulLanes8} keeps value {@code pos} of a Q6_K super-block (weights and activations alike):
     * the 32 values of each lane of {@code ggml_vec_dot_q6_K_q8_K} together, lane L's values 4L..4L+3 of chunks
     * 0..3, then of chunks 4..7, so that the kernel reads each lane's values in one run.
     */
    static int q6LaneOrder(int pos) {
        int half = pos >> 7;
        int chunk = (pos >> 5) & 3;
        int lane = (pos >> 2) & 7;
        return 32 * lane + 16 * half + 4 * chunk + (pos & 3);
    }

    /** Where column {@code c} of a Q6_K row goes: its super-block's place, then {@link #q6LaneOrder} within it. */
    private static int q6Column(int c) {
        return (c & -BLOCK) + q6LaneOrder(c & (BLOCK - 1));
    }

    /**
     * Q6_K super-block {@code base} unpacked into row {@code row} of {@link Scratch#tileW} (6-bit weight times
     * sub-block scale, exact in float, in {@link #q6LaneOrder}), {@link Scratch#tileScales} and
     * {@link Scratch#tileD}. Each 8 bytes of {@code ql} (twice) and {@code qh} are read once for the four chunks
     * they hold.
     */
    private static void unpackQ6KLanes8(MemorySegment w, long base, Scratch s, int row) {
        // block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16)
        int[] scales = s.tileScales;
        float[] floats = s.tileW;
        int so = 16 * row;
        IntVector sc0 = bytes8(w, base + 192);
        IntVector sc1 = bytes8(w, base + 200);
        sc0.intoArray(scales, so);
        sc1.intoArray(scales, so + 8);
        // the scales as floats, each broadcast from memory where it is needed
        float[] sf = s.scaleFloats;
        ((FloatVector) sc0.convert(VectorOperators.I2F, 0)).intoArray(sf, 0);
        ((FloatVector) sc1.convert(VectorOperators.I2F, 0)).intoArray(sf, 8);
        s.tileD[row] = Float.float16ToFloat(w.get(SHORT_LE, base + 208));
        for (int half = 0; half < 2; half++) {
            for (int i = 0; i < 32; i += 8) {
                // chunk 4*half+c, values i..i+7: ql[64*half + 32*(c&1) + i ..] (low nibbles for c < 2, high ones
                // for c >= 2) and bits 2c..2c+1 of qh[32*half + i ..]
                IntVector l0 = bytes8(w, base + 64L * half + i);
                IntVector l1 = bytes8(w, base + 64L * half + 32 + i);
                IntVector h = bytes8(w, base + 128 + 32L * half + i);
                int o = BLOCK * row + 32 * (i >> 2) + 16 * half;
                int sc = 8 * half + (i >> 4);
                FloatVector c0 = ((FloatVector) l0.and(0x0f).or(h.lanewise(VectorOperators.LSHL, 4).and(0x30))
                        .convert(VectorOperators.I2F, 0)).mul(sf[sc]);
                FloatVector c1 = ((FloatVector) l1.and(0x0f).or(h.lanewise(VectorOperators.LSHL, 2).and(0x30))
                        .convert(VectorOperators.I2F, 0)).mul(sf[sc + 2]);
                FloatVector c2 = ((FloatVector) l0.lanewise(VectorOperators.ASHR, 4).and(0x0f).or(h.and(0x30))
                        .convert(VectorOperators.I2F, 0)).mul(sf[sc + 4]);
                FloatVector c3 = ((FloatVector) l1.lanewise(VectorOperators.ASHR, 4).and(0x0f)
                        .or(h.lanewise(VectorOperators.ASHR, 2).and(0x30))
                        .convert(VectorOperators.I2F, 0)).mul(sf[sc + 6]);
                // values i..i+3 belong to lane i/4, values i+4..i+7 to the next lane (the upper half by a
                // shuffle: as part 1 of reinterpretShape, C2 shuffled and blended with zeros)
                ((FloatVector) c0.reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o);
                ((FloatVector) c0.rearrange(SWAP_128).reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 32);
                ((FloatVector) c1.reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 4);
                ((FloatVector) c1.rearrange(SWAP_128).reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 36);
                ((FloatVector) c2.reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 8);
                ((FloatVector) c2.rearrange(SWAP_128).reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 40);
                ((FloatVector) c3.reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 12);
                ((FloatVector) c3.rearrange(SWAP_128).reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(floats, o + 44);
            }
        }
    }

    /**
     * Q4_K super-block {@code base} unpacked into row {@code row} of {@link Scratch#tileW} (4-bit weight times
     * sub-block scale), {@link Scratch#tileScales} (the mins, as {@link Unpacked#scales}), {@link Scratch#tileD}
     * and {@link Scratch#tileDmin}.
     */
    private static void unpackQ4KLanes8(MemorySegment w, long base, Scratch s, int row) {
        long h0 = w.get(LONG_LE, base);
        long h1 = w.get(LONG_LE, base + 8);
        s.tileD[row] = Float.float16ToFloat((short) h0);
        s.tileDmin[row] = Float.float16ToFloat((short) (h0 >>> 16));
        long packedScales = q4Scales(h0, h1);
        long packedMins = q4Mins(h1);
        int[] mins = s.tileScales;
        float[] floats = s.tileW;
        for (int p = 0; p < 4; p++) {
            float lowScale = (float) ((int) (packedScales >>> (16 * p)) & 0xff);
            float highScale = (float) ((int) (packedScales >>> (16 * p + 8)) & 0xff);
            int lowMin = (int) (packedMins >>> (16 * p)) & 0xff;
            int highMin = (int) (packedMins >>> (16 * p + 8)) & 0xff;
            int m = 16 * row + 4 * p;
            mins[m] = lowMin;
            mins[m + 1] = lowMin;
            mins[m + 2] = highMin;
            mins[m + 3] = highMin;
            long qb = base + 16 + 32L * p;
            int o = BLOCK * row + 64 * p;
            for (int i = 0; i < 32; i += 8) {
                IntVector q = bytes8(w, qb + i);
                ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).mul(lowScale).intoArray(floats, o + i);
                ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0))
                        .mul(highScale).intoArray(floats, o + 32 + i);
            }
        }
    }

    /**
     * {@link #accumulateQ4KLanes4} with 8 int lanes: 3 rows of the tile ({@link Scratch#tileW} from row
     * {@code i0} on; accumulators {@code stride} apart from {@code a}: products at {@code a}, mins at
     * {@code a + 8}) times the 8 tokens of group {@code g}, in gemm order. Two chains per row (even and odd
     * positions); the accumulators are read and written once per pair of sub-blocks. See
     * {@link #LANES8_KERNEL_ROWS}. With {@code gemv} (a group with gemv tokens or empty lanes too) every lane
     * is also accumulated in gemv order (at {@code a + 16} and {@code a + 24}, once per super-block: the four
     * pairs' exact float sums converted to int and added there, as a super-block's sum may pass 2^24; the
     * mins' sums are exact in float, below 2^22), through {@link Scratch#gemvSums} and
     * {@link Scratch#gemvMins} between pairs, and each lane's result is then taken from its token's order.
     * The flag is tested only outside the multiply-adds' loop; as two methods (gemm only, and both) it measured
     * the same (one Zen 3 thread, minimum ns per super-block and token, two methods / one: 512 x 256 n = 7
     * 26.4 / 25.1, n = 15 19.5 / 18.5, n = 128 13.1 / 12.8; 32000 x 256 n = 7 27.8-29.1 / 28.1-33.1).
     */
    private void accumulateQ4KLanes8(Scratch s, int i0, int g, int b, int blocks, int cols, float[] acc, int a,
                                     int stride, boolean gemv) {
        float[] wt = s.tileW;
        int w0 = i0 * BLOCK;
        float[] xs = lanesX;
        float[] ds = lanesD;
        int[] mins = s.tileScales;
        float[] rowD = s.tileD;
        float[] rowDmin = s.tileDmin;
        int[] sums = s.gemvSums;
        float[] minSums = s.gemvMins;
        if (gemv) {
            java.util.Arrays.fill(sums, 0);
            java.util.Arrays.fill(minSums, 0f);
        }
        int xo = (g * cols + b * BLOCK) * 8;
        int gb = g * blocks + b;
        for (int p = 0; p < 4; p++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector o0 = e0;
            FloatVector e1 = e0;
            FloatVector o1 = e0;
            FloatVector e2 = e0;
            FloatVector o2 = e0;
            for (int i = 64 * p; i < 64 * p + 64; i += 2) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 8 * i);
                FloatVector y = FloatVector.fromArray(F, xs, xo + 8 * i + 8);
                e0 = x.fma(FloatVector.broadcast(F, wt[w0 + i]), e0);
                e1 = x.fma(FloatVector.broadcast(F, wt[w0 + 256 + i]), e1);
                e2 = x.fma(FloatVector.broadcast(F, wt[w0 + 512 + i]), e2);
                o0 = y.fma(FloatVector.broadcast(F, wt[w0 + 1 + i]), o0);
                o1 = y.fma(FloatVector.broadcast(F, wt[w0 + 257 + i]), o1);
                o2 = y.fma(FloatVector.broadcast(F, wt[w0 + 513 + i]), o2);
            }
            int so = (gb * 8 + 2 * p) * 8;
            FloatVector lo = FloatVector.fromArray(F, lanesSums, so);
            FloatVector hi = FloatVector.fromArray(F, lanesSums, so + 8);
            // the group's activation scales, one load for the three rows
            FloatVector dx = FloatVector.fromArray(F, ds, gb * 8);
            int at0 = a;
            int m0 = (i0 + 0) * 16 + 4 * p;
            FloatVector pairSum0 = e0.add(o0);
            FloatVector pairMin0 = lo.mul((float) mins[m0]).add(hi.mul((float) mins[m0 + 2]));
            pairSum0.fma(dx.mul(rowD[i0 + 0]), FloatVector.fromArray(F, acc, at0)).intoArray(acc, at0);
            pairMin0.fma(dx.mul(rowDmin[i0 + 0]), FloatVector.fromArray(F, acc, at0 + 8))
                    .intoArray(acc, at0 + 8);
            if (gemv) {
                ((IntVector) pairSum0.convert(VectorOperators.F2I, 0)).add(IntVector.fromArray(I, sums, 0))
                        .intoArray(sums, 0);
                pairMin0.add(FloatVector.fromArray(F, minSums, 0)).intoArray(minSums, 0);
            }
            int at1 = a + stride;
            int m1 = (i0 + 1) * 16 + 4 * p;
            FloatVector pairSum1 = e1.add(o1);
            FloatVector pairMin1 = lo.mul((float) mins[m1]).add(hi.mul((float) mins[m1 + 2]));
            pairSum1.fma(dx.mul(rowD[i0 + 1]), FloatVector.fromArray(F, acc, at1)).intoArray(acc, at1);
            pairMin1.fma(dx.mul(rowDmin[i0 + 1]), FloatVector.fromArray(F, acc, at1 + 8))
                    .intoArray(acc, at1 + 8);
            if (gemv) {
                ((IntVector) pairSum1.convert(VectorOperators.F2I, 0)).add(IntVector.fromArray(I, sums, 8))
                        .intoArray(sums, 8);
                pairMin1.add(FloatVector.fromArray(F, minSums, 8)).intoArray(minSums, 8);
            }
            int at2 = a + 2 * stride;
            int m2 = (i0 + 2) * 16 + 4 * p;
            FloatVector pairSum2 = e2.add(o2);
            FloatVector pairMin2 = lo.mul((float) mins[m2]).add(hi.mul((float) mins[m2 + 2]));
            pairSum2.fma(dx.mul(rowD[i0 + 2]), FloatVector.fromArray(F, acc, at2)).intoArray(acc, at2);
            pairMin2.fma(dx.mul(rowDmin[i0 + 2]), FloatVector.fromArray(F, acc, at2 + 8))
                    .intoArray(acc, at2 + 8);
            if (gemv) {
                ((IntVector) pairSum2.convert(VectorOperators.F2I, 0)).add(IntVector.fromArray(I, sums, 16))
                        .intoArray(sums, 16);
                pairMin2.add(FloatVector.fromArray(F, minSums, 16)).intoArray(minSums, 16);
            }
        }
        if (!gemv) {
            return;
        }
        // gemv: one fused multiply-add per super-block
        for (int r = 0; r < 3; r++) {
            int at = a + r * stride;
            FloatVector dx = FloatVector.fromArray(F, ds, gb * 8);
            ((FloatVector) IntVector.fromArray(I, sums, 8 * r).convert(VectorOperators.I2F, 0))
                    .fma(dx.mul(rowD[i0 + r]), FloatVector.fromArray(F, acc, at + 16)).intoArray(acc, at + 16);
            FloatVector.fromArray(F, minSums, 8 * r)
                    .fma(dx.mul(rowDmin[i0 + r]), FloatVector.fromArray(F, acc, at + 24)).intoArray(acc, at + 24);
        }
    }

    /**
     * {@link #accumulateQ6KLanes4} with 8 int lanes: 3 rows of the tile ({@link Scratch#tileW} from row
     * {@code i0} on, in {@link #q6LaneOrder}; accumulators {@code stride} apart from {@code a}, 8 vectors
     * each: one per lane of llama.cpp's kernel) times the 8 tokens of group {@code g}. Per lane and row one
     * chain for the even and one for the odd of the lane's 32 values (16 products of at most 128 * 63 * 127
     * each: exact below 2^24), converted to int and added there. See {@link #LANES8_KERNEL_ROWS}.
     */
    private void accumulateQ6KLanes8(Scratch s, int i0, int g, int b, int blocks, int cols, float[] acc, int a,
                                     int stride) {
        float[] wt = s.tileW;
        int w0 = i0 * BLOCK;
        float[] xs = lanesX;
        float[] ds = lanesD;
        int[] scales = s.tileScales;
        float[] rowD = s.tileD;
        int xo = (g * cols + b * BLOCK) * 8;
        int gb = g * blocks + b;
        for (int lane = 0; lane < 8; lane++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector o0 = e0;
            FloatVector e1 = e0;
            FloatVector o1 = e0;
            FloatVector e2 = e0;
            FloatVector o2 = e0;
            for (int i = 32 * lane; i < 32 * lane + 32; i += 2) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 8 * i);
                FloatVector y = FloatVector.fromArray(F, xs, xo + 8 * i + 8);
                e0 = x.fma(FloatVector.broadcast(F, wt[w0 + i]), e0);
                e1 = x.fma(FloatVector.broadcast(F, wt[w0 + 256 + i]), e1);
                e2 = x.fma(FloatVector.broadcast(F, wt[w0 + 512 + i]), e2);
                o0 = y.fma(FloatVector.broadcast(F, wt[w0 + 1 + i]), o0);
                o1 = y.fma(FloatVector.broadcast(F, wt[w0 + 257 + i]), o1);
                o2 = y.fma(FloatVector.broadcast(F, wt[w0 + 513 + i]), o2);
            }
            int bo = (gb * 16 + 2 * lane) * 8;
            IntVector lo = IntVector.fromArray(I, lanesBsums, bo);
            IntVector hi = IntVector.fromArray(I, lanesBsums, bo + 8);
            int at0 = a + 8 * lane;
            int c0 = (i0 + 0) * 16 + 2 * lane;
            IntVector s0 = ((IntVector) e0.convert(VectorOperators.F2I, 0))
                    .add((IntVector) o0.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(scales[c0]).add(hi.mul(scales[c0 + 1])).lanewise(VectorOperators.LSHL, 5));
            FloatVector.fromArray(F, ds, gb * 8).mul(rowD[i0 + 0])
                    .fma((FloatVector) s0.convert(VectorOperators.I2F, 0), FloatVector.fromArray(F, acc, at0))
                    .intoArray(acc, at0);
            int at1 = a + 8 * lane + stride;
            int c1 = (i0 + 1) * 16 + 2 * lane;
            IntVector s1 = ((IntVector) e1.convert(VectorOperators.F2I, 0))
                    .add((IntVector) o1.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(scales[c1]).add(hi.mul(scales[c1 + 1])).lanewise(VectorOperators.LSHL, 5));
            FloatVector.fromArray(F, ds, gb * 8).mul(rowD[i0 + 1])
                    .fma((FloatVector) s1.convert(VectorOperators.I2F, 0), FloatVector.fromArray(F, acc, at1))
                    .intoArray(acc, at1);
            int at2 = a + 8 * lane + 2 * stride;
            int c2 = (i0 + 2) * 16 + 2 * lane;
            IntVector s2 = ((IntVector) e2.convert(VectorOperators.F2I, 0))
                    .add((IntVector) o2.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(scales[c2]).add(hi.mul(scales[c2 + 1])).lanewise(VectorOperators.LSHL, 5));
            FloatVector.fromArray(F, ds, gb * 8).mul(rowD[i0 + 2])
                    .fma((FloatVector) s2.convert(VectorOperators.I2F, 0), FloatVector.fromArray(F, acc, at2))
                    .intoArray(acc, at2);
        }
    }


    /**
     * {@link #accumulateQ4KLanes8} for two groups of 8 tokens at once ({@code g} and {@code g + 1}, all of them
     * gemm tokens; accumulators {@link #GROUP_ACC8_Q4} apart) and four rows: each weight broadcast serves 16 tokens,
     * 6 loads per 8 fused multiply-adds where one group took 8 per 6. One chain per row and group (a pair's 64
     * products, exact below 2^24). One Zen 3 thread, ns per super-block and token, alternating runs on a busy
     * machine (best of 15): 512 x 256 by 128 tokens 14.1-14.8 -> 13.2-14.2, 1024 x 1024 12.2-13.2 -> 11.4-11.6,
     * 512 x 256 by 16 tokens 16.8-18.0 -> 15.7-16.0.
     */
    private void accumulateQ4KLanes8x2(Scratch s, int i0, int g, int b, int blocks, int cols, float[] acc, int a,
                                       int stride) {
        float[] wt = s.tileW;
        int w0 = i0 * BLOCK;
        float[] xs = lanesX;
        float[] ds = lanesD;
        int[] mins = s.tileScales;
        float[] rowD = s.tileD;
        float[] rowDmin = s.tileDmin;
        int xo = (g * cols + b * BLOCK) * 8;
        int yo = xo + cols * 8;
        int gb = g * blocks + b;
        int hb = gb + blocks;
        float[] chains = s.chainSums;
        for (int p = 0; p < 4; p++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector f0 = e0;
            FloatVector e1 = e0;
            FloatVector f1 = e0;
            FloatVector e2 = e0;
            FloatVector f2 = e0;
            FloatVector e3 = e0;
            FloatVector f3 = e0;
            for (int i = 64 * p; i < 64 * p + 64; i++) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 8 * i);
                FloatVector y = FloatVector.fromArray(F, xs, yo + 8 * i);
                FloatVector v0 = FloatVector.broadcast(F, wt[w0 + i]);
                FloatVector v1 = FloatVector.broadcast(F, wt[w0 + 256 + i]);
                FloatVector v2 = FloatVector.broadcast(F, wt[w0 + 512 + i]);
                FloatVector v3 = FloatVector.broadcast(F, wt[w0 + 768 + i]);
                e0 = x.fma(v0, e0);
                f0 = y.fma(v0, f0);
                e1 = x.fma(v1, e1);
                f1 = y.fma(v1, f1);
                e2 = x.fma(v2, e2);
                f2 = y.fma(v2, f2);
                e3 = x.fma(v3, e3);
                f3 = y.fma(v3, f3);
            }
            int so = (gb * 8 + 2 * p) * 8;
            int to = (hb * 8 + 2 * p) * 8;
            // the sums through an array, so that the chains live only in the loop (held into the code below, C2
            // kept some of them on the stack in the loop)
            e0.intoArray(chains, 0);
            f0.intoArray(chains, 8);
            e1.intoArray(chains, 16);
            f1.intoArray(chains, 24);
            e2.intoArray(chains, 32);
            f2.intoArray(chains, 40);
            e3.intoArray(chains, 48);
            f3.intoArray(chains, 56);
            for (int r = 0; r < 4; r++) {
                int at = a + r * stride;
                int m = (i0 + r) * 16 + 4 * p;
                FloatVector dx = FloatVector.fromArray(F, ds, gb * 8);
                FloatVector.fromArray(F, chains, 16 * r).fma(dx.mul(rowD[i0 + r]), FloatVector.fromArray(F, acc, at))
                        .intoArray(acc, at);
                FloatVector.fromArray(F, lanesSums, so).mul((float) mins[m])
                        .add(FloatVector.fromArray(F, lanesSums, so + 8).mul((float) mins[m + 2]))
                        .fma(dx.mul(rowDmin[i0 + r]), FloatVector.fromArray(F, acc, at + 8)).intoArray(acc, at + 8);
                FloatVector dy = FloatVector.fromArray(F, ds, hb * 8);
                FloatVector.fromArray(F, chains, 16 * r + 8)
                        .fma(dy.mul(rowD[i0 + r]), FloatVector.fromArray(F, acc, at + GROUP_ACC8_Q4))
                        .intoArray(acc, at + GROUP_ACC8_Q4);
                FloatVector.fromArray(F, lanesSums, to).mul((float) mins[m])
                        .add(FloatVector.fromArray(F, lanesSums, to + 8).mul((float) mins[m + 2]))
                        .fma(dy.mul(rowDmin[i0 + r]), FloatVector.fromArray(F, acc, at + GROUP_ACC8_Q4 + 8))
                        .intoArray(acc, at + GROUP_ACC8_Q4 + 8);
            }
        }
    }

    /**
     * The quantized activations of {@code n} tokens as the fused kernels read them: for Q4_K their 32-value
     * sums ({@link #tokenSubSums}, 8 spare entries at the end for a 16-lane load) and the values as shorts
     * ({@link #tokenShorts}, 8 int lanes) or rearranged ({@link #tokenQ4Pairs}, 16); for Q6_K rearranged
     * ({@link #tokenPairs}); of tokens {@code first..n-1} (the others are left as they are). Nothing to do when
     * the same quantization's same tokens were the last laid out for the type: of a Q4_K_M layer's single
     * token, K after Q and up after gate (bench-llama-q4_k_m: 169 layouts a token, 1.85 us each, before).
     */
    private void tokenActivations(int first, int n, int cols, boolean q4) {
        long span = (long) first << 32 | (long) n * cols;
        if (q4 ? tokenQ4Generation == generation && tokenQ4Span == span
                : tokenQ6Generation == generation && tokenQ6Span == span) {
            return;
        }
        layOutTokens(first, n, cols, q4);
        if (q4) {
            tokenQ4Generation = generation;
            tokenQ4Span = span;
        } else {
            tokenQ6Generation = generation;
            tokenQ6Span = span;
        }
    }

    /** {@link #tokenActivations}, whatever was laid out before. */
    private void layOutTokens(int first, int n, int cols, boolean q4) {
        if ((long) n * cols > SHORT_INDEX) {
            throw new IllegalArgumentException(n + " tokens of " + cols + " values are too many for one product");
        }
        int len = n * cols;
        int start = first * cols;
        if (!q4) {
            if (tokenPairs.length < len) {
                tokenPairs = new short[len];
            }
            if (LANES == 8) {
                // per 32-value chunk its 16 even values, then its odd ones
                for (int o = start; o < len; o += 32) {
                    evenOdd(tokenPairs, o, o, 16);
                }
                if (tokenBsumPairs.length < len / 16) {
                    tokenBsumPairs = new int[len / 16];
                }
                for (int o = start / 16; o < len / 16; o += 16) {
                    for (int l = 0; l < 8; l++) {
                        tokenBsumPairs[o + l] = bsums[o + 2 * l];
                        tokenBsumPairs[o + 8 + l] = bsums[o + 2 * l + 1];
                    }
                }
            } else {
                for (int o = start; o < len; o += BLOCK) {
                    for (int pair = 0; pair < 4; pair++) {
                        evenOdd(tokenPairs, o + 64 * pair, o + 32 * pair, 32);
                        evenOdd(tokenPairs, o + 64 * pair + 16, o + 128 + 32 * pair, 32);
                    }
                }
            }
            return;
        }
        if (tokenSubSums.length < len / 32 + 8) {
            tokenSubSums = new int[len / 32 + 8];
        }
        for (int i = start / 32; i < len / 32; i++) {
            tokenSubSums[i] = bsums[2 * i] + bsums[2 * i + 1];
        }
        if (LANES == 8) {
            if (tokenShorts.length < len) {
                tokenShorts = new short[len];
            }
            for (int i = start; i < len; i++) {
                tokenShorts[i] = q[i];
            }
            return;
        }
        if (tokenQ4Pairs.length < len) {
            tokenQ4Pairs = new short[len];
        }
        for (int o = start; o < len; o += BLOCK) {
            for (int half = 0; half < 2; half++) {
                for (int nibble = 0; nibble < 2; nibble++) {
                    int at = o + 128 * half + 64 * nibble;
                    int first32 = o + 128 * half + 32 * nibble;
                    evenOdd(tokenQ4Pairs, at, first32, 32);
                    evenOdd(tokenQ4Pairs, at + 16, first32 + 64, 32);
                }
            }
        }
    }

    /**
     * The 16 even-position values of {@code q} from {@code from} on to {@code p[at..at+16)}, and the odd ones
     * {@code oddAt} further on. With 16 int lanes as one vector of 32 shorts, rearranged and stored in halves:
     * value by value, laying out a single token had been 2.7% of bench-llama-q4_k_m's decoding on the calling
     * thread alone (the other waiting).
     */
    private void evenOdd(short[] p, int at, int from, int oddAt) {
        if (LANES == 16) {
            ShortVector v = ((ShortVector) ByteVector.fromArray(B32, q, from)
                    .convertShape(VectorOperators.B2S, S32, 0)).rearrange(EVENS_THEN_ODDS);
            ((ShortVector) v.reinterpretShape(ShortVector.SPECIES_256, 0)).intoArray(p, at);
            ((ShortVector) v.reinterpretShape(ShortVector.SPECIES_256, 1)).intoArray(p, at + oddAt);
            return;
        }
        for (int k = 0; k < 16; k++) {
            p[at + k] = q[from + 2 * k];
            p[at + oddAt + k] = q[from + 2 * k + 1];
        }
    }

    /**
     * The 16 tokens' results from a group's accumulators: Q4_K's difference of its two sums, Q6_K's
     * {@code hsum_float_8} of its 8 lanes, lane by lane.
     */
    private static FloatVector finishedLanes(boolean q4, float[] acc, int a) {
        if (q4) {
            return FloatVector.fromArray(F, acc, a).sub(FloatVector.fromArray(F, acc, a + 16));
        }
        FloatVector l0 = FloatVector.fromArray(F, acc, a);
        FloatVector l1 = FloatVector.fromArray(F, acc, a + 16);
        FloatVector l2 = FloatVector.fromArray(F, acc, a + 32);
        FloatVector l3 = FloatVector.fromArray(F, acc, a + 48);
        FloatVector l4 = FloatVector.fromArray(F, acc, a + 64);
        FloatVector l5 = FloatVector.fromArray(F, acc, a + 80);
        FloatVector l6 = FloatVector.fromArray(F, acc, a + 96);
        FloatVector l7 = FloatVector.fromArray(F, acc, a + 112);
        return l0.add(l4).add(l2.add(l6)).add(l1.add(l5).add(l3.add(l7)));
    }

    /**
     * Rows {@code [from, to)} of a Q6_K matrix times quantized token {@code t} (16 int lanes) into
     * {@code out[at + r]}, the weights decoded straight into their products, two chunks to a vector: chunk p
     * in shorts 0..15 and chunk p + 4 in shorts 16..31 (the bytes of {@code ql} and {@code qh} read as shorts,
     * their even-position weights from the low bytes and odd ones from the high bytes), each multiplied with
     * the token's values at the same positions ({@link #tokenPairs}) and the two products added in a short.
     * Paired into ints, lane m then holds values 4m..4m+3 of one chunk, llama.cpp's lane m, and takes its
     * scale: one pairing and one scale multiply per 64 values, not per 32 as with a chunk to a vector (one
     * Zen 4 thread, ns per super-block: 32000 x 256 32.5-35 -> 18.0-18.4, 1024 x 1024 27-33 -> 15.9-16.3).
     * The final {@code hsum_float_8} as vector steps. The rows go in one call, not one call each: on rows of
     * one super-block (a tiny model's output matrix) the call and its set-up cost as much as a third of the
     * products (one Zen 5 thread, ns per super-block: 32000 x 256 31.6-31.9 -> 26.5-26.7, 1024 x 1024
     * 23.7-24.0 -> 21.8-22.4; Q4_K alike, {@link #rowsQ4K}: 24.2-24.9 -> 19.8-20.2 and 18.7-18.9 -> 17.3-17.5;
     * tiny-llama-q4_k_m decoding on one thread 805-855 -> 981-999 tokens/s). The four chunk pairs are written
     * out, each pairing too: as a helper, C2 left it out of line ({@code NodeCountInliningCutoff}), and the
     * kernel took 70-80 ns.
     */
    private long rowsQ6K(MemorySegment w, int from, int to, int blocks, int t, float[] out, int at) {
        short[] x = tokenPairs;
        long touched = 0;
        long aheadEnd = aheadEnd(w, Q6_K_BYTES);
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q6_K_BYTES;
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q6_K_BYTES;
                if (base < aheadEnd) {
                    touched += loadLines(w, base + LOAD_AHEAD_BYTES, Q6_K_BYTES);
                }
                int xb = t * blocks + b;
                int xo = xb * BLOCK & SHORT_INDEX;
                IntVector scales = Unpacked.bytes(w, base + 192);
                // ql as shorts, bytes 0..31 and 64..95 (qa: chunks 0 and 4 in the low nibbles, 2 and 6 in the
                // high ones) and bytes 32..63 and 96..127 (qb: chunks 1 and 5, 3 and 7); qh as shorts, bytes
                // 0..31 and 32..63 (the same positions of the first and the second four chunks)
                ShortVector l0 = ShortVector.fromMemorySegment(S32, w, base, ByteOrder.LITTLE_ENDIAN);
                ShortVector l32 = ShortVector.fromMemorySegment(S32, w, base + 32, ByteOrder.LITTLE_ENDIAN);
                ShortVector l64 = ShortVector.fromMemorySegment(S32, w, base + 64, ByteOrder.LITTLE_ENDIAN);
                IntVector qa = l0.blend(l32, UPPER_SHORTS).reinterpretAsInts();
                IntVector qb = l32.blend(l64, UPPER_SHORTS).reinterpretAsInts();
                IntVector h = IntVector.fromMemorySegment(I, w, base + 128, ByteOrder.LITTLE_ENDIAN);
                // each chunk pair's even-position weights (low bytes) and odd ones (high bytes), times the
                // token's values at those positions: two products per short, which fits (2 * 63 * 128). The
                // bits are taken apart in 32-bit lanes, shifted by immediates ({@link #NIBBLES})
                ShortVector even = qa.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 4).and(HIGH_BITS))
                        .reinterpretAsShorts();
                ShortVector odd = qa.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 4).and(HIGH_BITS)).reinterpretAsShorts();
                IntVector p = even.mul(ShortVector.fromArray(S32, x, xo))
                        .add(odd.mul(ShortVector.fromArray(S32, x, xo + 32))).reinterpretAsInts();
                IntVector sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(PAIR_SCALES0));
                even = qb.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 2).and(HIGH_BITS)).reinterpretAsShorts();
                odd = qb.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 6).and(HIGH_BITS)).reinterpretAsShorts();
                p = even.mul(ShortVector.fromArray(S32, x, xo + 64))
                        .add(odd.mul(ShortVector.fromArray(S32, x, xo + 96))).reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(PAIR_SCALES1)).add(sums);
                even = qa.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).or(h.and(HIGH_BITS)).reinterpretAsShorts();
                odd = qa.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 8).and(HIGH_BITS)).reinterpretAsShorts();
                p = even.mul(ShortVector.fromArray(S32, x, xo + 128))
                        .add(odd.mul(ShortVector.fromArray(S32, x, xo + 160))).reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(PAIR_SCALES2)).add(sums);
                even = qb.lanewise(VectorOperators.LSHR, 4).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 2).and(HIGH_BITS)).reinterpretAsShorts();
                odd = qb.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 10).and(HIGH_BITS)).reinterpretAsShorts();
                p = even.mul(ShortVector.fromArray(S32, x, xo + 192))
                        .add(odd.mul(ShortVector.fromArray(S32, x, xo + 224))).reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(PAIR_SCALES3)).add(sums);
                // lane L and L + 8 hold llama.cpp's lane L of the first and the second four chunks; the offset
                // term's two halves go to the same two lanes, and one fold finishes the 8 lanes
                IntVector offsets = IntVector.fromArray(I, bsums, xb * 16).mul(scales)
                        .lanewise(VectorOperators.LSHL, 5).rearrange(EVEN_ODD);
                IntVector v = sums.sub(offsets);
                v = v.add(v.rearrange(SWAP_HALVES));
                float dd = d[xb] * Float.float16ToFloat(w.get(SHORT_LE, base + 208));
                acc = ((FloatVector) v.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, dd), acc);
            }
            // hsum_float_8: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
            acc = acc.add(acc.rearrange(XOR4));
            acc = acc.add(acc.rearrange(XOR2));
            out[at + r] = acc.add(acc.rearrange(XOR1)).lane(0);
        }
        return touched;
    }

    /**
     * {@link #rowsQ6K} for {@code count} tokens (4 to {@link #Q6_K_GROUP_TOKENS}, {@code t0..t0+count-1}) at
     * a time: each super-block is decoded once for them, and each token's 16 float lanes go through {@code acc}
     * (16 floats a token) between super-blocks. Same arithmetic per token, so the same bits. The decoding is
     * written out again here rather than shared with rowsQ6K (a helper returning a vector is not inlined into
     * these big methods, and boxes): this kernel, used for single tokens as well, took 28.5 instead of 18.2 ns
     * per super-block for one token on 32000 x 256 and 21.0 instead of 16.2 on 1024 x 1024 (one Zen 4
     * thread); again with its token count, on a Zen 5 (count 1 against rowsQ6K, alternating in one JVM),
     * 24.3 against 14.2 and 20.2 against 12.3. Rows of one super-block (tiny models, whose output matrix
     * dominates their batches) sum each token's lanes straight away instead of through {@code acc}: one Zen 5
     * thread, tiny-llama-q4_k_m's 32000 x 256 output, ns per super-block and token, 4 alternating pairs of
     * runs: 8 tokens 9.2-12.8 -> 6.9-10.5, 4 tokens 11.0 -> 8.5.
     */
    private void rowsQ6K4(MemorySegment w, int from, int to, int blocks, int t0, int count, float[] out, int rows,
                          float[] acc) {
        short[] x = tokenPairs;
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q6_K_BYTES;
            if (blocks > 1) {
                java.util.Arrays.fill(acc, 0, 16 * count, 0f);
            }
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q6_K_BYTES;
                IntVector scales = Unpacked.bytes(w, base + 192);
                IntVector s0 = scales.rearrange(PAIR_SCALES0);
                IntVector s1 = scales.rearrange(PAIR_SCALES1);
                IntVector s2 = scales.rearrange(PAIR_SCALES2);
                IntVector s3 = scales.rearrange(PAIR_SCALES3);
                ShortVector l0 = ShortVector.fromMemorySegment(S32, w, base, ByteOrder.LITTLE_ENDIAN);
                ShortVector l32 = ShortVector.fromMemorySegment(S32, w, base + 32, ByteOrder.LITTLE_ENDIAN);
                ShortVector l64 = ShortVector.fromMemorySegment(S32, w, base + 64, ByteOrder.LITTLE_ENDIAN);
                IntVector qa = l0.blend(l32, UPPER_SHORTS).reinterpretAsInts();
                IntVector qb = l32.blend(l64, UPPER_SHORTS).reinterpretAsInts();
                IntVector h = IntVector.fromMemorySegment(I, w, base + 128, ByteOrder.LITTLE_ENDIAN);
                ShortVector even0 = qa.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 4).and(HIGH_BITS))
                        .reinterpretAsShorts();
                ShortVector odd0 = qa.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 4).and(HIGH_BITS)).reinterpretAsShorts();
                ShortVector even1 = qb.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 2).and(HIGH_BITS))
                        .reinterpretAsShorts();
                ShortVector odd1 = qb.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 6).and(HIGH_BITS)).reinterpretAsShorts();
                ShortVector even2 = qa.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).or(h.and(HIGH_BITS))
                        .reinterpretAsShorts();
                ShortVector odd2 = qa.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 8).and(HIGH_BITS)).reinterpretAsShorts();
                ShortVector even3 = qb.lanewise(VectorOperators.LSHR, 4).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 2).and(HIGH_BITS)).reinterpretAsShorts();
                ShortVector odd3 = qb.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                        .or(h.lanewise(VectorOperators.LSHR, 10).and(HIGH_BITS)).reinterpretAsShorts();
                float dw = Float.float16ToFloat(w.get(SHORT_LE, base + 208));
                for (int j = 0; j < count; j++) {
                    int xb = (t0 + j) * blocks + b;
                    int xo = xb * BLOCK & SHORT_INDEX;
                    IntVector p = even0.mul(ShortVector.fromArray(S32, x, xo))
                            .add(odd0.mul(ShortVector.fromArray(S32, x, xo + 32))).reinterpretAsInts();
                    IntVector sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(s0);
                    p = even1.mul(ShortVector.fromArray(S32, x, xo + 64))
                            .add(odd1.mul(ShortVector.fromArray(S32, x, xo + 96))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(s1).add(sums);
                    p = even2.mul(ShortVector.fromArray(S32, x, xo + 128))
                            .add(odd2.mul(ShortVector.fromArray(S32, x, xo + 160))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(s2).add(sums);
                    p = even3.mul(ShortVector.fromArray(S32, x, xo + 192))
                            .add(odd3.mul(ShortVector.fromArray(S32, x, xo + 224))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(s3).add(sums);
                    IntVector offsets = IntVector.fromArray(I, bsums, xb * 16).mul(scales)
                            .lanewise(VectorOperators.LSHL, 5).rearrange(EVEN_ODD);
                    IntVector v = sums.sub(offsets);
                    v = v.add(v.rearrange(SWAP_HALVES));
                    float dd = d[xb] * dw;
                    if (blocks == 1) {
                        // rows of one super-block (a tiny model's matrices): the lanes summed straight away, not
                        // through acc (the same operations on a zero accumulator)
                        FloatVector a = ((FloatVector) v.convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.broadcast(F, dd), FloatVector.zero(F));
                        a = a.add(a.rearrange(XOR4));
                        a = a.add(a.rearrange(XOR2));
                        out[(t0 + j) * rows + r] = a.add(a.rearrange(XOR1)).lane(0);
                    } else {
                        ((FloatVector) v.convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.broadcast(F, dd), FloatVector.fromArray(F, acc, 16 * j))
                                .intoArray(acc, 16 * j);
                    }
                }
            }
            for (int j = 0; j < count && blocks > 1; j++) {
                // hsum_float_8: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
                FloatVector a = FloatVector.fromArray(F, acc, 16 * j);
                a = a.add(a.rearrange(XOR4));
                a = a.add(a.rearrange(XOR2));
                out[(t0 + j) * rows + r] = a.add(a.rearrange(XOR1)).lane(0);
            }
        }
    }

    /**
     * {@link #rowsQ6K} with 8 int lanes (AVX2), in {@code ggml_vec_dot_q6_K_q8_K}'s lanes: lane L sums, over
     * the chunks, values 4L..4L+3 of each 32-value chunk times the scale of the chunk's first (L &lt; 4) or
     * second 16 values. As in rowsQ6K, the 32 bytes of a chunk's {@code ql} (and its {@code qh}) are read as 16
     * shorts, the weights at even positions from the low bytes and at odd ones from the high bytes, each
     * multiplied with the token's values at the same positions ({@link #tokenPairs}) and the two products
     * added in a short; paired into ints, lane m holds values 4m..4m+3, llama.cpp's lane m, and takes its
     * scale by a shuffle. The offset term ({@code 32 * (bsums[2L] * sc[2L] + bsums[2L+1] * sc[2L+1])}) comes
     * off per super-block. Integer sums are exact in any order; the float steps are llama.cpp's. Against the
     * previous form (16 values to a vector, each half of a chunk paired and scaled on its own), one Zen 4
     * thread with 256-bit vectors ({@code -Djgpt.vectorBits=256}), ns per super-block: 32000 x 256 37.2 ->
     * 30.4, 1024 x 1024 30.1 -> 23.9 (the previous form took 88-110 on a Zen 1). The bits are taken apart in
     * 32-bit lanes ({@link #NIBBLES}), the offsets from {@link #tokenBsumPairs} without a two-vector shuffle
     * and the scales by 32-bit shifts: one Zen 3 thread (AVX2), 32000 x 256, 44-50 -> 37-40 ns per super-block;
     * tiny-llama-q4_k_m decoding (its output matrix is Q6_K), two threads, 0.87-1.07K -> 1.28-1.43K tokens/s.
     */
    private long rowsQ6K8(MemorySegment w, int from, int to, int blocks, int t, float[] out, int at) {
        short[] x = tokenPairs;
        float[] lanes = SCRATCH.get().lanes;
        long touched = 0;
        long aheadEnd = aheadEnd(w, Q6_K_BYTES);
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q6_K_BYTES;
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q6_K_BYTES;
                if (base < aheadEnd) {
                    touched += loadLines(w, base + LOAD_AHEAD_BYTES, Q6_K_BYTES);
                }
                int xb = t * blocks + b;
                IntVector sums = IntVector.zero(I);
                for (int half = 0; half < 2; half++) {
                    // ql[64*half ..+32) as shorts: chunk 4*half+0 in the low nibbles, +2 in the high ones (qa);
                    // ql[64*half+32 ..+32): chunks +1 and +3 (qb); qh[32*half ..+32): their top two bits. Even
                    // positions from the low bytes, odd ones from the high bytes, their two products added in a
                    // short (2 * 63 * 128 fits). Written out, without helpers (see rowsQ6K)
                    IntVector qa = IntVector.fromMemorySegment(I, w, base + 64L * half, ByteOrder.LITTLE_ENDIAN);
                    IntVector qb = IntVector.fromMemorySegment(I, w, base + 64L * half + 32, ByteOrder.LITTLE_ENDIAN);
                    IntVector h = IntVector.fromMemorySegment(I, w, base + 128 + 32L * half, ByteOrder.LITTLE_ENDIAN);
                    IntVector scales = (IntVector) ByteVector.fromMemorySegment(B8, w, base + 192 + 8L * half,
                            ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    int xo = xb * BLOCK + 128 * half;
                    ShortVector even = qa.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 4).and(HIGH_BITS))
                            .reinterpretAsShorts();
                    ShortVector odd = qa.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                            .or(h.lanewise(VectorOperators.LSHR, 4).and(HIGH_BITS)).reinterpretAsShorts();
                    IntVector p = even.mul(ShortVector.fromArray(S16, x, xo + 0))
                            .add(odd.mul(ShortVector.fromArray(S16, x, xo + 16))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(scales.rearrange(SCALES8_0)).add(sums);
                    even = qb.and(NIBBLES).or(h.lanewise(VectorOperators.LSHL, 2).and(HIGH_BITS))
                            .reinterpretAsShorts();
                    odd = qb.lanewise(VectorOperators.LSHR, 8).and(NIBBLES)
                            .or(h.lanewise(VectorOperators.LSHR, 6).and(HIGH_BITS)).reinterpretAsShorts();
                    p = even.mul(ShortVector.fromArray(S16, x, xo + 32))
                            .add(odd.mul(ShortVector.fromArray(S16, x, xo + 48))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(scales.rearrange(SCALES8_1)).add(sums);
                    even = qa.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).or(h.and(HIGH_BITS))
                            .reinterpretAsShorts();
                    odd = qa.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                            .or(h.lanewise(VectorOperators.LSHR, 8).and(HIGH_BITS)).reinterpretAsShorts();
                    p = even.mul(ShortVector.fromArray(S16, x, xo + 64))
                            .add(odd.mul(ShortVector.fromArray(S16, x, xo + 80))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(scales.rearrange(SCALES8_2)).add(sums);
                    even = qb.lanewise(VectorOperators.LSHR, 4).and(NIBBLES)
                            .or(h.lanewise(VectorOperators.LSHR, 2).and(HIGH_BITS)).reinterpretAsShorts();
                    odd = qb.lanewise(VectorOperators.LSHR, 12).and(NIBBLES)
                            .or(h.lanewise(VectorOperators.LSHR, 10).and(HIGH_BITS)).reinterpretAsShorts();
                    p = even.mul(ShortVector.fromArray(S16, x, xo + 96))
                            .add(odd.mul(ShortVector.fromArray(S16, x, xo + 112))).reinterpretAsInts();
                    sums = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .mul(scales.rearrange(SCALES8_3)).add(sums);
                }
                // lane L's offset: 32 * (bsums[2L] * sc[2L] + bsums[2L+1] * sc[2L+1]), the 16 scales widened to
                // shorts and read as 8 ints: sc[2L] in the low half of int L, sc[2L+1] in its high half
                int bs = xb * 16;
                IntVector sc = ((ShortVector) ByteVector.fromMemorySegment(B16, w, base + 192,
                        ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0)).reinterpretAsInts();
                IntVector scEven = sc.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
                IntVector scOdd = sc.lanewise(VectorOperators.ASHR, 16);
                sums = sums.sub(IntVector.fromArray(I, tokenBsumPairs, bs).mul(scEven)
                        .add(IntVector.fromArray(I, tokenBsumPairs, bs + 8).mul(scOdd))
                        .lanewise(VectorOperators.LSHL, 5));
                float dd = d[xb] * Float.float16ToFloat(w.get(SHORT_LE, base + 208));
                acc = ((FloatVector) sums.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, dd), acc);
            }
            acc.intoArray(lanes, 0);
            out[at + r] = LlamaCppMath.hsum8(lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5], lanes[6],
                    lanes[7]);
        }
        return touched;
    }

    /**
     * {@link #rowsQ4K} with 8 int lanes (AVX2), in gemv order or, with {@code gemm}, in
     * {@code ggml_gemm_q4_K_8x8_q8_K}'s (a fused multiply-add per pair of sub-blocks, as {@link #rowsQ4KGemm4}).
     * Only each pair's integer sums matter, so the lanes may hold any values: the two 16-value halves of a
     * sub-block are multiplied in shorts and added there (|2 * 15 * 127| fits), paired into ints, scaled and
     * added up; the mins are scalar.
     */
    private long rowsQ4K8(MemorySegment w, int from, int to, int blocks, int t, boolean gemm, float[] out, int at) {
        short[] x = tokenShorts;
        int[] subSums = tokenSubSums;
        long touched = 0;
        long aheadEnd = aheadEnd(w, Q4_K_BYTES);
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q4_K_BYTES;
            float acc = 0f;
            float accMin = 0f;
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q4_K_BYTES;
                if (base < aheadEnd) {
                    touched += loadLines(w, base + LOAD_AHEAD_BYTES, Q4_K_BYTES);
                }
                int xb = t * blocks + b;
                long h0 = w.get(LONG_LE, base);
                long h1 = w.get(LONG_LE, base + 8);
                long scales = q4Scales(h0, h1);
                long mins = q4Mins(h1);
                int qo = xb * BLOCK;
                int so = 8 * xb;
                float dx = d[xb];
                float dScale = Float.float16ToFloat((short) h0) * dx;
                float minScale = Float.float16ToFloat((short) (h0 >>> 16)) * dx;
                IntVector sums = IntVector.zero(I);
                int blockMin = 0;
                for (int pair = 0; pair < 4; pair++) {
                    // qs[32*pair ..+32): sub-block 2*pair in the low nibbles, 2*pair+1 in the high ones
                    ShortVector na = unsignedShorts16(w, base + 16 + 32L * pair);
                    ShortVector nb = unsignedShorts16(w, base + 32 + 32L * pair);
                    int xo = qo + 64 * pair;
                    ShortVector low = na.and((short) 0x0f).mul(ShortVector.fromArray(S16, x, xo))
                            .add(nb.and((short) 0x0f).mul(ShortVector.fromArray(S16, x, xo + 16)));
                    ShortVector high = na.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S16, x, xo + 32))
                            .add(nb.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S16, x, xo + 48)));
                    IntVector pairSums = pairSums(low).mul((int) (scales >>> (16 * pair)) & 0xff)
                            .add(pairSums(high).mul((int) (scales >>> (16 * pair + 8)) & 0xff));
                    int pairMin = pairMin(mins, subSums, so, pair);
                    // gemv: one sum per super-block (no vector is chosen by the branch: C2 would box it)
                    sums = sums.add(pairSums);
                    if (gemm) {
                        acc = Math.fma((float) pairSums.reduceLanes(VectorOperators.ADD), dScale, acc);
                        accMin = Math.fma((float) pairMin, minScale, accMin);
                    } else {
                        blockMin += pairMin;
                    }
                }
                if (!gemm) {
                    acc = Math.fma((float) sums.reduceLanes(VectorOperators.ADD), dScale, acc);
                    accMin = Math.fma((float) blockMin, minScale, accMin);
                }
            }
            out[at + r] = acc - accMin;
        }
        return touched;
    }

    /**
     * Rows {@code [from, to)} of a Q4_K matrix times quantized token {@code t} in
     * {@code ggml_gemv_q4_K_8x8_q8_K} order (16 int lanes), into {@code out[at + r]}; in one call for all the
     * rows, as {@link #rowsQ6K}, and like it with the weights' bytes read as shorts: 64 bytes (two pairs of
     * sub-blocks) at a time, the low nibbles of the even bytes (values 2k of sub-blocks 4P and 4P + 2, in
     * shorts 0..15 and 16..31) and of the odd ones (values 2k + 1) multiplied with the token's values at the
     * same positions ({@link #tokenQ4Pairs}) and added in a short (|2 * 15 * 128| fits), the high nibbles
     * likewise; paired into ints, lanes 0..7 and 8..15 belong to two sub-blocks and take their scales. The
     * mins times the token's 32-value sums are formed in a second vector, and one fold adds both up. One Zen 4
     * thread, ns per super-block: 1024 x 1024 23.1-23.4 -> 16.4, 32000 x 256 24.6-27.0 -> 16.4 (one pairing and
     * one scale multiply per 64 values instead of per 32, and no zero-extending loads).
     *
     * <p>Everything is in this one method on purpose: C2 did not inline a helper returning a vector into it
     * ("already compiled into a big method", {@code NodeCountInliningCutoff}), and the boxed vector cost more
     * than the arithmetic. Measured one Zen 5 thread, 2816x1024, ns per super-block: 37 (before), 28 (float
     * multiply-adds, scalar mins), 24 (mins from precomputed 32-value sums), 19 (mins as a vector), 17.7
     * (products in shorts), 17.0 (high nibbles shifted down, so that the pairing fits).
     *
     * <p>The header's scales and mins are decoded in vector lanes ({@link #Q4_LOW_BITS}), not in general
     * registers and broadcast, and the mins' products land in lanes 8..15, where a blend puts them beside the
     * once-folded products (no two-vector selects). Same bits. One Zen 5 thread, ns per super-block: 1024 x
     * 1024 in the caches 10.9-11.2 -> 8.7; 2816 x 1024 11.2-11.3 -> 9.5, and from DRAM (the 24 layers' in turn)
     * 13.2-13.7 -> 10.1. bench-llama-q4_k_m decoding on one thread, 3 alternating pairs: 72.7-73.8 (once 43.8)
     * -> 75.4-78.0 tokens/s.
     */
    private long rowsQ4K(MemorySegment w, int from, int to, int blocks, int t, float[] out, int at) {
        short[] x = tokenQ4Pairs;
        int[] subSums = tokenSubSums;
        long touched = 0;
        long aheadEnd = aheadEnd(w, Q4_K_BYTES);
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q4_K_BYTES;
            float acc = 0f;
            float accMin = 0f;
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q4_K_BYTES;
                if (base < aheadEnd) {
                    touched += loadLines(w, base + LOAD_AHEAD_BYTES, Q4_K_BYTES);
                }
                int xb = t * blocks + b;
                // d, dmin (f16), then the 12 bytes of 6-bit scales and mins
                // the header by one vector load: two scalar reads (bounds-checked) had C2 compute their checks'
                // ranges ahead of every row's loop, some sixty instructions a row
                LongVector header =
                        LongVector.fromMemorySegment(LongVector.SPECIES_128, w, base, ByteOrder.LITTLE_ENDIAN);
                long h0 = header.lane(0);
                // the 8 scales in lanes 0..7, the 8 mins in 8..15: the header's bytes in int lanes, each lane's
                // low bits from one byte and its top two bits (scales and mins 4..7) from another
                IntVector bytes = (IntVector) header.reinterpretAsBytes()
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector scales = bytes.rearrange(Q4_LOW_BITS).lanewise(VectorOperators.LSHR, Q4_LOW_SHIFTS)
                        .and(Q4_LOW_MASKS)
                        .or(bytes.rearrange(Q4_TOP_BITS).lanewise(VectorOperators.LSHR, 2).and(Q4_TOP_MASKS));
                int xo = xb * BLOCK & SHORT_INDEX;
                // the nibbles taken apart in 32-bit lanes, shifted by immediates ({@link #NIBBLES})
                IntVector q = IntVector.fromMemorySegment(I, w, base + 16, ByteOrder.LITTLE_ENDIAN);
                IntVector p = q.and(NIBBLES).reinterpretAsShorts().mul(ShortVector.fromArray(S32, x, xo))
                        .add(q.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts()
                                .mul(ShortVector.fromArray(S32, x, xo + 32))).reinterpretAsInts();
                IntVector sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(Q4_SCALES0));
                p = q.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts()
                        .mul(ShortVector.fromArray(S32, x, xo + 64))
                        .add(q.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts()
                                .mul(ShortVector.fromArray(S32, x, xo + 96)))
                        .reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(Q4_SCALES1)).add(sums);
                q = IntVector.fromMemorySegment(I, w, base + 80, ByteOrder.LITTLE_ENDIAN);
                p = q.and(NIBBLES).reinterpretAsShorts().mul(ShortVector.fromArray(S32, x, xo + 128))
                        .add(q.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts()
                                .mul(ShortVector.fromArray(S32, x, xo + 160))).reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(Q4_SCALES2)).add(sums);
                p = q.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts()
                        .mul(ShortVector.fromArray(S32, x, xo + 192))
                        .add(q.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts()
                                .mul(ShortVector.fromArray(S32, x, xo + 224)))
                        .reinterpretAsInts();
                sums = (PAIR_MUL ? p.mul(0x10001) : p.add(p.lanewise(VectorOperators.LSHL, 16)))
                        .lanewise(VectorOperators.ASHR, 16)
                        .mul(scales.rearrange(Q4_SCALES3)).add(sums);
                // lanes 8..15: sub-block k's min times the token's sum of those 32 values
                IntVector minProducts = scales.mul(IntVector.fromArray(I, subSums, 8 * xb).rearrange(SWAP_HALVES));
                // lanes 0..7: the products' lanes folded once; lanes 8..15: the mins'; then within each half
                IntVector v = sums.add(sums.rearrange(SWAP_HALVES)).blend(minProducts, UPPER_INTS);
                v = v.add(v.rearrange(XOR4_I));
                v = v.add(v.rearrange(XOR2_I));
                v = v.add(v.rearrange(XOR1_I));
                float dx = d[xb];
                // converted as a vector (the same floats as (float) of each int lane), not through a general
                // register lane by lane
                FloatVector vf = (FloatVector) v.convert(VectorOperators.I2F, 0);
                acc = Math.fma(vf.lane(0), Float.float16ToFloat((short) h0) * dx, acc);
                accMin = Math.fma(vf.lane(8), Float.float16ToFloat((short) (h0 >>> 16)) * dx, accMin);
            }
            out[at + r] = acc - accMin;
        }
        return touched;
    }

    /**
     * {@link #rowsQ4K} in {@code ggml_gemm_q4_K_8x8_q8_K} order for a group of {@code count} tokens (a multiple
     * of four up to {@link #Q4_K_GROUP_TOKENS}, {@code t0..t0+count-1}), rows {@code [from, to)}: the scaled
     * products and the mins are added to each token's two float accumulators ({@code acc}: per four tokens
     * their four products' accumulators, then their four mins') once per pair of 32-value sub-blocks, not once
     * per super-block. Each super-block is decoded once for the tokens, and their chains of float multiply-adds
     * are independent, where one token at a time left each call waiting on its own chain (one Zen 4 thread, 4
     * tokens, ns per super-block and token: 1024 x 1024 33.5 -> 15.2-17.0, 32000 x 256 37.9 -> 17.0-17.3).
     * Each 64-byte half of the weights gives two pairs' scaled lanes (pair 2P in lanes 0..7, 2P + 1 in
     * 8..15), folded once together (two selects and an add); the four tokens' folded vectors are then folded
     * into one, two at a time (a blend, a select and an add), lane 4k + {@link #GEMM_LANE}[j] token j's pair k,
     * and their mins go to one vector too, from the tokens' sub-block sums laid out alike
     * ({@link #gemmLayout}); the float steps run four tokens to a 128-bit vector: the same operations in
     * the same order as each token's scalar steps, so the same bits. One token at a time, three lanes taken
     * out of each token's vector and eight scalar mins and multiply-adds had cost about as much as the integer
     * products; one Zen 5 thread, ns per super-block and token, 2 alternating pairs of runs: 2816 x 1024 by 8
     * tokens 9.9-10.0 -> 7.1-7.6, by 4 10.6-11.6 -> 9.0-9.2, by 12 9.3-9.5 -> 7.1-7.3; 512 x 256 by 8
     * 9.5-9.7 -> 7.2-7.3. Rows of one super-block go straight to {@code out}, as in {@link #rowsQ6K4}.
     */
    private void rowsQ4KGemm4(MemorySegment w, int from, int to, int blocks, int t0, int count, float[] out,
                              int rows, float[] acc, float[] lanes, int[] folded) {
        short[] x = tokenQ4Pairs;
        for (int r = from; r < to; r++) {
            long rowBase = (long) r * blocks * Q4_K_BYTES;
            // zeroed for rows of one super-block too: a vector chosen by a branch (zero or loaded) made C2 box
            // it once both had run, and every later call took 50 ns per super-block and token, not 7
            java.util.Arrays.fill(acc, 0, 2 * count, 0f);
            for (int b = 0; b < blocks; b++) {
                long base = rowBase + (long) b * Q4_K_BYTES;
                // the header by one vector load: two scalar reads (bounds-checked) had C2 compute their checks'
                // ranges ahead of every row's loop, some sixty instructions a row
                LongVector header =
                        LongVector.fromMemorySegment(LongVector.SPECIES_128, w, base, ByteOrder.LITTLE_ENDIAN);
                long h0 = header.lane(0);
                long h1 = header.lane(1);
                long mins = q4Mins(h1);
                IntVector scales = (IntVector) LongVector.broadcast(LongVector.SPECIES_128, q4Scales(h0, h1))
                        .reinterpretAsBytes().convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector s0 = scales.rearrange(Q4_SCALES0);
                IntVector s1 = scales.rearrange(Q4_SCALES1);
                IntVector s2 = scales.rearrange(Q4_SCALES2);
                IntVector s3 = scales.rearrange(Q4_SCALES3);
                IntVector q = IntVector.fromMemorySegment(I, w, base + 16, ByteOrder.LITTLE_ENDIAN);
                ShortVector lowEven0 = q.and(NIBBLES).reinterpretAsShorts();
                ShortVector lowOdd0 = q.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts();
                ShortVector highEven0 = q.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts();
                ShortVector highOdd0 = q.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts();
                q = IntVector.fromMemorySegment(I, w, base + 80, ByteOrder.LITTLE_ENDIAN);
                ShortVector lowEven1 = q.and(NIBBLES).reinterpretAsShorts();
                ShortVector lowOdd1 = q.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts();
                ShortVector highEven1 = q.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts();
                ShortVector highOdd1 = q.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts();
                float d = Float.float16ToFloat((short) h0);
                float dmin = Float.float16ToFloat((short) (h0 >>> 16));
                IntVector minsAll = (IntVector) LongVector.broadcast(LongVector.SPECIES_128, mins)
                        .reinterpretAsBytes().convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector minsLo = minsAll.rearrange(QUAD_LO);
                IntVector minsHi = minsAll.rearrange(QUAD_HI);
                for (int j4 = 0; j4 < count; j4 += 4) {
                    // two tokens at a time, written out, and the pair's fold through an array: a vector carried
                    // from one pass of a loop to the next (the four tokens' sums blended lane by lane) was boxed
                    // once C2 recompiled the method with rows of one super-block and of several in its profile,
                    // and every later call took 50 ns per super-block and token, not 7; all four written out were
                    // too large for C1 ("out of virtual registers"), and the interpreted method ran 8 sequences
                    // of tiny-llama-q4_k_m at 225 tokens/s. Lanes 4k..4k+3 of u0, u1: the two tokens' pair k
                    // folded once.
                    int xo = ((t0 + j4) * blocks + b) * BLOCK;
                    int tokenStep = blocks * BLOCK;
                    for (int jp = 0; jp < 2; jp++) {
                        int x0 = xo + 2 * jp * tokenStep & SHORT_INDEX;
                        IntVector p0 = lowEven0.mul(ShortVector.fromArray(S32, x, x0))
                                .add(lowOdd0.mul(ShortVector.fromArray(S32, x, x0 + 32))).reinterpretAsInts();
                        IntVector lo0 = (PAIR_MUL ? p0.mul(0x10001) : p0.add(p0.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s0);
                        p0 = highEven0.mul(ShortVector.fromArray(S32, x, x0 + 64))
                                .add(highOdd0.mul(ShortVector.fromArray(S32, x, x0 + 96))).reinterpretAsInts();
                        lo0 = (PAIR_MUL ? p0.mul(0x10001) : p0.add(p0.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s1).add(lo0);
                        p0 = lowEven1.mul(ShortVector.fromArray(S32, x, x0 + 128))
                                .add(lowOdd1.mul(ShortVector.fromArray(S32, x, x0 + 160))).reinterpretAsInts();
                        IntVector hi0 = (PAIR_MUL ? p0.mul(0x10001) : p0.add(p0.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s2);
                        p0 = highEven1.mul(ShortVector.fromArray(S32, x, x0 + 192))
                                .add(highOdd1.mul(ShortVector.fromArray(S32, x, x0 + 224))).reinterpretAsInts();
                        hi0 = (PAIR_MUL ? p0.mul(0x10001) : p0.add(p0.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s3).add(hi0);
                        IntVector u0 = LOW_QUARTERS.selectFrom(lo0, hi0).add(HIGH_QUARTERS.selectFrom(lo0, hi0));
                        int x1 = x0 + tokenStep & SHORT_INDEX;
                        IntVector p1 = lowEven0.mul(ShortVector.fromArray(S32, x, x1))
                                .add(lowOdd0.mul(ShortVector.fromArray(S32, x, x1 + 32))).reinterpretAsInts();
                        IntVector lo1 = (PAIR_MUL ? p1.mul(0x10001) : p1.add(p1.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s0);
                        p1 = highEven0.mul(ShortVector.fromArray(S32, x, x1 + 64))
                                .add(highOdd0.mul(ShortVector.fromArray(S32, x, x1 + 96))).reinterpretAsInts();
                        lo1 = (PAIR_MUL ? p1.mul(0x10001) : p1.add(p1.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s1).add(lo1);
                        p1 = lowEven1.mul(ShortVector.fromArray(S32, x, x1 + 128))
                                .add(lowOdd1.mul(ShortVector.fromArray(S32, x, x1 + 160))).reinterpretAsInts();
                        IntVector hi1 = (PAIR_MUL ? p1.mul(0x10001) : p1.add(p1.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s2);
                        p1 = highEven1.mul(ShortVector.fromArray(S32, x, x1 + 192))
                                .add(highOdd1.mul(ShortVector.fromArray(S32, x, x1 + 224))).reinterpretAsInts();
                        hi1 = (PAIR_MUL ? p1.mul(0x10001) : p1.add(p1.lanewise(VectorOperators.LSHL, 16)))
                                .lanewise(VectorOperators.ASHR, 16)
                                .mul(s3).add(hi1);
                        IntVector u1 = LOW_QUARTERS.selectFrom(lo1, hi1).add(HIGH_QUARTERS.selectFrom(lo1, hi1));
                        u0.blend(u1, LANE_BIT1).add(PARTNERS2.selectFrom(u0, u1)).intoArray(folded, 16 * jp);
                    }
                    IntVector a01 = IntVector.fromArray(I, folded, 0);
                    IntVector a23 = IntVector.fromArray(I, folded, 16);
                    // the four tokens' quarters folded together: lanes of bit 1 clear kept tokens 0 and 2, the others
                    // 1 and 3, each lane plus its partner 2 apart; now lanes of bit 0 clear keep tokens 0 and 1, the
                    // others 2 and 3, plus their partner 1 apart: lane 4k + GEMM_LANE[j] holds token j's pair k
                    IntVector sums = a01.blend(a23, LANE_BIT0).add(PARTNERS1.selectFrom(a01, a23));
                    // the four tokens' mins: lane 4s + GEMM_LANE[j] of e (sub-blocks 0..3) and f (4..7) sub-block
                    // s's min times token j's sum of it ({@link #gemmLayout}); sub-blocks 2k and 2k + 1 added (pairs
                    // 0 and 1 in lanes 0..3 and 8..11 of e, pairs 2 and 3 of f) and gathered as the products are
                    int gb = (t0 + j4) / 4 * blocks + b;
                    IntVector e = IntVector.fromArray(I, gemmSubSums, 32 * gb).mul(minsLo);
                    IntVector f = IntVector.fromArray(I, gemmSubSums, 32 * gb + 16).mul(minsHi);
                    IntVector minSums = LOW_QUARTERS.selectFrom(e.add(e.rearrange(XOR4_I)), f.add(f.rearrange(XOR4_I)));
                    // the chains of float multiply-adds four tokens at a time, quarter k after quarter k - 1
                    ((FloatVector) sums.convert(VectorOperators.I2F, 0)).intoArray(lanes, 0);
                    ((FloatVector) minSums.convert(VectorOperators.I2F, 0)).intoArray(lanes, 16);
                    FloatVector dx = FloatVector.fromArray(F4, gemmScales, 4 * gb);
                    FloatVector dScale = dx.mul(d);
                    FloatVector minScale = dx.mul(dmin);
                    FloatVector a = FloatVector.fromArray(F4, acc, 2 * j4);
                    FloatVector m = FloatVector.fromArray(F4, acc, 2 * j4 + 4);
                    a = FloatVector.fromArray(F4, lanes, 0).fma(dScale, a);
                    m = FloatVector.fromArray(F4, lanes, 16).fma(minScale, m);
                    a = FloatVector.fromArray(F4, lanes, 4).fma(dScale, a);
                    m = FloatVector.fromArray(F4, lanes, 20).fma(minScale, m);
                    a = FloatVector.fromArray(F4, lanes, 8).fma(dScale, a);
                    m = FloatVector.fromArray(F4, lanes, 24).fma(minScale, m);
                    a = FloatVector.fromArray(F4, lanes, 12).fma(dScale, a);
                    m = FloatVector.fromArray(F4, lanes, 28).fma(minScale, m);
                    if (blocks == 1) {
                        a.sub(m).intoArray(lanes, 0);
                        for (int jj = 0; jj < 4; jj++) {
                            out[(t0 + j4 + jj) * rows + r] = lanes[GEMM_LANE[jj]];
                        }
                    } else {
                        a.intoArray(acc, 2 * j4);
                        m.intoArray(acc, 2 * j4 + 4);
                    }
                }
            }
            for (int j = 0; j < count && blocks > 1; j++) {
                // per four tokens: their four products, then their four mins
                int lane = 2 * (j & ~3) + GEMM_LANE[j & 3];
                out[(t0 + j) * rows + r] = acc[lane] - acc[lane + 4];
            }
        }
    }

    /** Fills {@link #gemmSubSums} and {@link #gemmScales} for the first {@code tokens} tokens (a multiple of 4). */
    private void gemmLayout(int tokens, int blocks) {
        if (gemmSubSums.length < tokens * blocks * 8) {
            gemmSubSums = new int[tokens * blocks * 8];
            gemmScales = new float[tokens * blocks];
        }
        for (int t = 0; t < tokens; t++) {
            for (int b = 0; b < blocks; b++) {
                int xb = t * blocks + b;
                // the four tokens' group and block, as rowsQ4KGemm4 indexes them; the token's lane in each quarter
                // (GEMM_LANE: its fold of the products leaves them in that order)
                int gb = t / 4 * blocks + b;
                int lane = GEMM_LANE[t & 3];
                gemmScales[4 * gb + lane] = d[xb];
                for (int sub = 0; sub < 8; sub++) {
                    gemmSubSums[32 * gb + 4 * sub + lane] = tokenSubSums[8 * xb + sub];
                }
            }
        }
    }

    /**
     * A Q4_K super-block's eight 6-bit sub-block scales, one per byte (sub-block k in bits 8k..8k+7), from its
     * first 16 bytes read as two little-endian longs ({@code h0}: d, dmin, scale bytes 0-3; {@code h1}: scale
     * bytes 4-11), unpacked with llama.cpp's kmask1..3.
     */
    private static long q4Scales(long h0, long h1) {
        int u0 = (int) (h0 >>> 32);
        int u2 = (int) (h1 >>> 32);
        return (u0 & 0x3f3f3f3fL) | (long) ((u2 & 0x0f0f0f0f) | ((u0 >>> 2) & 0x30303030)) << 32;
    }

    /** The eight 6-bit sub-block mins, one per byte, as {@link #q4Scales} gives the scales. */
    private static long q4Mins(long h1) {
        int u1 = (int) h1;
        int u2 = (int) (h1 >>> 32);
        return (u1 & 0x3f3f3f3fL) | (long) (((u2 >>> 4) & 0x0f0f0f0f) | ((u1 >>> 2) & 0x30303030)) << 32;
    }

    /** Sub-blocks {@code 2p} and {@code 2p + 1}: their mins times the token's sums of their values. */
    private static int pairMin(long mins, int[] subSums, int so, int p) {
        return ((int) (mins >>> (16 * p)) & 0xff) * subSums[so + 2 * p]
                + ((int) (mins >>> (16 * p + 8)) & 0xff) * subSums[so + 2 * p + 1];
    }

    /**
     * Adjacent short products added into ints (32 shorts to 16 ints) where each pair's sum fits a short
     * too: {@code (p + (p << 16)) >> 16} adds them in the upper half, one shift fewer than extending both.
     */
    private static IntVector pairSums(ShortVector products) {
        IntVector p = products.reinterpretAsInts();
        return p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    /** 16 bytes zero-extended to shorts (8 int lanes). */
    private static ShortVector unsignedShorts16(MemorySegment w, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(B16, w, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
    }

    /**
     * Adds chunk c's 16 scaled pair sums to {@code sums}: the chunk is multiplied in shorts (|63 * 127|
     * fits, and so does the sum of two), adjacent products are added into ints and scaled by the pair's
     * sub-block scale.
     */
    private static IntVector chunkProducts(IntVector sums, ShortVector sixBits, ShortVector x, IntVector scales,
                                           int c) {
        return sums.add(pairSums(sixBits.mul(x)).mul(scales.rearrange(CHUNK_SCALES[c])));
    }

    /**
     * From the 16 pair sums of a super-block (lane L of llama.cpp's kernel is pairs 2L and 2L+1) to its 8
     * integer lanes, in lanes 0..7 and again 8..15: the offset term {@code 32 * bsums[i] * sc[i]} has the
     * same pairing, so one fold finishes all lanes.
     */
    private IntVector q6Finish(IntVector sums, IntVector scales, int xb) {
        IntVector offsets = IntVector.fromArray(I, bsums, xb * 16).mul(scales).lanewise(VectorOperators.LSHL, 5);
        IntVector t = sums.sub(offsets).rearrange(EVEN_ODD);
        return t.add(t.rearrange(SWAP_HALVES));
    }

    /**
     * Adds one Q6_K super-block times activation block {@code xb} to the 8 float lanes at
     * {@code acc[a..a+8)}: each integer lane converted to float and fused-multiply-added with
     * {@code d_x * d_w}.
     */
    private void accumulateQ6K(Scratch s, Unpacked w, int xb, float[] acc, int a) {
        float dd = d[xb] * w.d;
        if (LANES == 16) {
            IntVector lanes = q6Lanes16(w, xb);
            // lanes 8..15 repeat lanes 0..7; only 0..7 are read back
            FloatVector f = (FloatVector) lanes.convert(VectorOperators.I2F, 0);
            f.fma(FloatVector.broadcast(F, dd), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
            return;
        }
        int[] pos = s.positions;
        q6PositionSums(w, xb * BLOCK, pos);
        int bs = xb * 16;
        for (int lane = 0; lane < 8; lane++) {
            int l = pos[4 * lane] + pos[4 * lane + 1] + pos[4 * lane + 2] + pos[4 * lane + 3]
                    - ((bsums[bs + 2 * lane] * w.scales[2 * lane] + bsums[bs + 2 * lane + 1] * w.scales[2 * lane + 1])
                    << 5);
            acc[a + lane] = Math.fma(dd, (float) l, acc[a + lane]);
        }
    }

    /** The 8 integer lanes of {@code ggml_vec_dot_q6_K_q8_K} for one unpacked super-block (16 int lanes). */
    private IntVector q6Lanes16(Unpacked w, int xb) {
        int qo = xb * BLOCK;
        IntVector scales = IntVector.fromArray(I, w.scales, 0);
        IntVector sums = IntVector.zero(I);
        for (int c = 0; c < 8; c++) {
            ShortVector x = (ShortVector) ByteVector.fromArray(B32, q, qo + 32 * c)
                    .convertShape(VectorOperators.B2S, S32, 0);
            sums = chunkProducts(sums, ShortVector.fromArray(S32, w.sixBits, 32 * c), x, scales, c);
        }
        return q6Finish(sums, scales, xb);
    }

    /** {@code pos[i]}: the sum over the 8 chunks of scaled weight times activation at chunk position i. */
    private void q6PositionSums(Unpacked w, int qo, int[] pos) {
        java.util.Arrays.fill(pos, 0);
        for (int c = 0; c < BLOCK; c += 32) {
            for (int i = 0; i < 32; i++) {
                pos[i] += w.values[c + i] * q[qo + c + i];
            }
        }
    }

    /**
     * Adds one Q4_K super-block times activation block {@code xb} to the output's two accumulators
     * {@code acc[a]} (scaled products) and {@code acc[a+1]} (mins times activation sums), once per
     * super-block (gemv) or once per pair of sub-blocks (gemm).
     */
    private void accumulateQ4K(Scratch s, Unpacked w, int xb, boolean gemm, float[] acc, int a) {
        int qo = xb * BLOCK;
        int bs = xb * 16;
        float dx = d[xb];
        float dScale = w.d * dx;
        float minScale = w.dmin * dx;
        int[] pairs = s.pairSums;
        int[] mins = s.minProducts;
        if (LANES > 0) {
            IntVector.fromArray(I, bsums, bs).mul(IntVector.fromArray(I, w.scales, 0)).intoArray(mins, 0);
            for (int p = 0; p < 4; p++) {
                IntVector sum = IntVector.zero(I);
                for (int i = 64 * p; i < 64 * p + 64; i += LANES) {
                    sum = sum.add(IntVector.fromArray(I, w.values, i).mul(activations(qo + i)));
                }
                pairs[p] = sum.reduceLanes(VectorOperators.ADD);
            }
        } else {
            for (int i = 0; i < 16; i++) {
                mins[i] = bsums[bs + i] * w.scales[i];
            }
            for (int p = 0; p < 4; p++) {
                int sum = 0;
                for (int i = 64 * p; i < 64 * p + 64; i++) {
                    sum += w.values[i] * q[qo + i];
                }
                pairs[p] = sum;
            }
        }
        float sum = acc[a];
        float min = acc[a + 1];
        int blockSum = 0;
        int blockMin = 0;
        for (int p = 0; p < 4; p++) {
            int pairMin = mins[4 * p] + mins[4 * p + 1] + mins[4 * p + 2] + mins[4 * p + 3];
            if (gemm) {
                sum = Math.fma((float) pairs[p], dScale, sum);
                min = Math.fma((float) pairMin, minScale, min);
            } else {
                blockSum += pairs[p];
                blockMin += pairMin;
            }
        }
        if (!gemm) {
            sum = Math.fma((float) blockSum, dScale, sum);
            min = Math.fma((float) blockMin, minScale, min);
        }
        acc[a] = sum;
        acc[a + 1] = min;
    }

    /**
     * Fills {@link #lanesXs} (Q6_K: {@link #lanesX}), {@link #lanesD}, {@link #lanesSums} and {@link #lanesBsums}
     * for the first {@code groups * 16} tokens of the activations quantized last; lanes of tokens from
     * {@code tokens} on (a last group's empty lanes) are zero. With {@code q6}, each block's values in
     * {@link #q6LaneOrder}, as {@link Unpacked#scaledSixBitsAsFloats} lays out the weights.
     */
    private void transpose(int groups, int cols, int tokens, boolean q6) {
        lanesGeneration = -1;
        int blocks = cols / BLOCK;
        if (q6 && lanesX.length < groups * 16 * cols + 16) {
            lanesX = new float[groups * 16 * cols + 16];
        }
        if (q6) {
            lanesXo = ALIGNED_LANES ? dev.jgpt.engine.tensor.Alignment.floatOffset(lanesX) : 0;
        }
        if (!q6 && lanesXs.byteSize() < 64L * groups * cols) {
            // native memory on 64-byte boundaries: each 16-float load of a Java array straddles two cache lines
            lanesXs = Arena.ofAuto().allocate(64L * groups * cols, 64);
        }
        if (lanesD.length < groups * 16 * blocks) {
            lanesD = new float[groups * 16 * blocks];
            lanesSums = new float[groups * 16 * blocks * 8];
            lanesBsums = new int[groups * 16 * blocks * 16];
        }
        int full = Math.min(tokens, groups * 16) / 16 * 16 * cols;
        if (qInts.length < full / 4) {
            qInts = new int[full / 4];
        }
        for (int i = 0; i < full; i += 64) {
            ByteVector.fromArray(ByteVector.SPECIES_512, q, i).reinterpretAsInts().intoArray(qInts, i >> 2);
        }
        for (int l = 0; l < 16; l++) {
            gatherMap[l] = l * (cols >> 2);
        }
        MatrixOps.shared().forRows(groups, (long) groups * 16 * cols * QUANTIZE_WORK,
                (from, to) -> transposeGroups(from, to, cols, tokens, q6));
    }

    private void transposeGroups(int from, int to, int cols, int tokens, boolean q6) {
        int blocks = cols / BLOCK;
        for (int g = from; g < to; g++) {
            if (16 * g + 16 <= tokens) {
                for (int c = 0; c < cols; c += 4) {
                    transposeValues(g, c, cols, q6);
                }
            } else {
                // a last group with empty lanes, value by value
                for (int l = 0; l < 16; l++) {
                    int t = 16 * g + l;
                    for (int c = 0; c < cols; c++) {
                        int at = q6 ? q6Column(c) : c;
                        float value = t < tokens ? q[t * cols + c] : 0f;
                        if (q6) {
                            lanesX[lanesXo + (g * cols + at) * 16 + l] = value;
                        } else {
                            lanesXs.setAtIndex(ValueLayout.JAVA_FLOAT, (long) (g * cols + at) * 16 + l, value);
                        }
                    }
                }
            }
            for (int l = 0; l < 16; l++) {
                int t = 16 * g + l;
                boolean empty = t >= tokens;
                for (int b = 0; b < blocks; b++) {
                    int xb = t * blocks + b;
                    lanesD[(g * blocks + b) * 16 + l] = empty ? 0f : d[xb];
                    for (int i = 0; i < 16; i++) {
                        lanesBsums[((g * blocks + b) * 16 + i) * 16 + l] = empty ? 0 : bsums[xb * 16 + i];
                    }
                    for (int sub = 0; sub < 8; sub++) {
                        lanesSums[((g * blocks + b) * 8 + sub) * 16 + l] =
                                empty ? 0f : bsums[xb * 16 + 2 * sub] + bsums[xb * 16 + 2 * sub + 1];
                    }
                }
            }
        }
    }

    /**
     * Columns {@code c..c+3} of group {@code g}'s 16 tokens (all of them present) into {@link #lanesXs}: the 16
     * tokens' four bytes gathered from {@link #qInts} into one int vector, each byte shifted out of its lanes and
     * stored as a column of floats (with {@code q6} at its place in {@link #q6LaneOrder}). A store per value had
     * been 4.6% of tiny-llama-q4_k_m's prompts; a 16 x 16 transpose of widened rows in registers (64
     * two-vector permutes) as slow, its vectors spilled.
     */
    private void transposeValues(int g, int c, int cols, boolean q6) {
        IntVector v = IntVector.fromArray(I, qInts, (16 * g * cols + c) >> 2, gatherMap, 0);
        int base = g * cols;
        storeColumn(v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24), base, c, q6);
        storeColumn(v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24), base, c + 1, q6);
        storeColumn(v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24), base, c + 2, q6);
        storeColumn(v.lanewise(VectorOperators.ASHR, 24), base, c + 3, q6);
    }

    /**
     * Column {@code c}'s 16 token values (ints) as floats into {@link #lanesXs} (with {@code q6} at its place in
     * {@link #q6LaneOrder} of {@link #lanesX}), of the group at {@code base}.
     */
    private void storeColumn(IntVector v, int base, int c, boolean q6) {
        int at = q6 ? q6Column(c) : c;
        FloatVector f = (FloatVector) v.convert(VectorOperators.I2F, 0);
        if (q6) {
            f.intoArray(lanesX, lanesXo + (base + at) * 16);
        } else {
            f.intoMemorySegment(lanesXs, 64L * (base + at), ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * {@link #accumulateQ4K} in gemm order for the 16 tokens of group {@code g}, one token per lane, on
     * super-block {@code b} of the unpacked row: the integer sums are computed in float, which is exact
     * (every product and partial sum of a 64-value pair is an integer below 2^24), then fused-multiply-added
     * per pair exactly as the one-token kernel does, lane by lane.
     */
    private void accumulateQ4KLanes(Unpacked w, int g, int b, int blocks, int cols, float[] acc, int a) {
        int xo = (g * cols + b * BLOCK) * 16;
        int gb = g * blocks + b;
        FloatVector dx = FloatVector.fromArray(F, lanesD, gb * 16);
        FloatVector dScale = dx.mul(w.d);
        FloatVector minScale = dx.mul(w.dmin);
        FloatVector sum = FloatVector.fromArray(F, acc, a);
        FloatVector min = FloatVector.fromArray(F, acc, a + 16);
        float[] wf = w.floats;
        int wo = w.fo;
        for (int p = 0; p < 4; p++) {
            // eight independent chains, so that fused multiply-adds do not wait for each other
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int i = 64 * p; i < 64 * p + 64; i += 8) {
                int x = xo + 16 * i;
                s0 = lanesProduct(x, wf[wo + i], s0);
                s1 = lanesProduct(x + 16, wf[wo + i + 1], s1);
                s2 = lanesProduct(x + 32, wf[wo + i + 2], s2);
                s3 = lanesProduct(x + 48, wf[wo + i + 3], s3);
                s4 = lanesProduct(x + 64, wf[wo + i + 4], s4);
                s5 = lanesProduct(x + 80, wf[wo + i + 5], s5);
                s6 = lanesProduct(x + 96, wf[wo + i + 6], s6);
                s7 = lanesProduct(x + 112, wf[wo + i + 7], s7);
            }
            s0 = s0.add(s1).add(s2.add(s3)).add(s4.add(s5).add(s6.add(s7)));
            int so = (gb * 8 + 2 * p) * 16;
            FloatVector pairMin = FloatVector.fromArray(F, lanesSums, so).mul((float) w.scales[4 * p])
                    .add(FloatVector.fromArray(F, lanesSums, so + 16).mul((float) w.scales[4 * p + 2]));
            sum = s0.fma(dScale, sum);
            min = pairMin.fma(minScale, min);
        }
        sum.intoArray(acc, a);
        min.intoArray(acc, a + 16);
    }

    /**
     * {@link #accumulateQ4KLanes} for four rows of the tile at once ({@code tile[i..i+4)}, accumulators
     * {@code stride} apart from {@code a}): each load of 16 tokens' activations serves four rows, two
     * chains per row. The chains' sums are exact integers, so how they are split does not change a bit.
     */
    private void accumulateQ4KLanes4(Unpacked[] tile, int i0, int g, int b, int blocks, int cols, float[] acc, int a,
                                     int stride) {
        Unpacked u0 = tile[i0];
        Unpacked u1 = tile[i0 + 1];
        Unpacked u2 = tile[i0 + 2];
        Unpacked u3 = tile[i0 + 3];
        // the four rows' floats, one after another in the tile's array
        float[] w = u0.floats;
        int wo = u0.fo;
        MemorySegment xs = lanesXs;
        int xo = (g * cols + b * BLOCK) * 16;
        int gb = g * blocks + b;
        FloatVector dx = FloatVector.fromArray(F, lanesD, gb * 16);
        FloatVector sum0 = FloatVector.fromArray(F, acc, a);
        FloatVector min0 = FloatVector.fromArray(F, acc, a + 16);
        FloatVector sum1 = FloatVector.fromArray(F, acc, a + stride);
        FloatVector min1 = FloatVector.fromArray(F, acc, a + stride + 16);
        FloatVector sum2 = FloatVector.fromArray(F, acc, a + 2 * stride);
        FloatVector min2 = FloatVector.fromArray(F, acc, a + 2 * stride + 16);
        FloatVector sum3 = FloatVector.fromArray(F, acc, a + 3 * stride);
        FloatVector min3 = FloatVector.fromArray(F, acc, a + 3 * stride + 16);
        for (int p = 0; p < 4; p++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector o0 = e0;
            FloatVector e1 = e0;
            FloatVector o1 = e0;
            FloatVector e2 = e0;
            FloatVector o2 = e0;
            FloatVector e3 = e0;
            FloatVector o3 = e0;
            for (int i = 64 * p; i < 64 * p + 64; i += 2) {
                FloatVector x = FloatVector.fromMemorySegment(F, xs, 4L * (xo + 16 * i), ByteOrder.LITTLE_ENDIAN);
                FloatVector y = FloatVector.fromMemorySegment(F, xs, 4L * (xo + 16 * i + 16), ByteOrder.LITTLE_ENDIAN);
                e0 = x.fma(FloatVector.broadcast(F, w[wo + i]), e0);
                e1 = x.fma(FloatVector.broadcast(F, w[wo + 256 + i]), e1);
                e2 = x.fma(FloatVector.broadcast(F, w[wo + 512 + i]), e2);
                e3 = x.fma(FloatVector.broadcast(F, w[wo + 768 + i]), e3);
                o0 = y.fma(FloatVector.broadcast(F, w[wo + i + 1]), o0);
                o1 = y.fma(FloatVector.broadcast(F, w[wo + 256 + i + 1]), o1);
                o2 = y.fma(FloatVector.broadcast(F, w[wo + 512 + i + 1]), o2);
                o3 = y.fma(FloatVector.broadcast(F, w[wo + 768 + i + 1]), o3);
            }
            int so = (gb * 8 + 2 * p) * 16;
            FloatVector lo = FloatVector.fromArray(F, lanesSums, so);
            FloatVector hi = FloatVector.fromArray(F, lanesSums, so + 16);
            sum0 = e0.add(o0).fma(dx.mul(u0.d), sum0);
            min0 = lo.mul((float) u0.scales[4 * p]).add(hi.mul((float) u0.scales[4 * p + 2])).fma(dx.mul(u0.dmin), min0);
            sum1 = e1.add(o1).fma(dx.mul(u1.d), sum1);
            min1 = lo.mul((float) u1.scales[4 * p]).add(hi.mul((float) u1.scales[4 * p + 2])).fma(dx.mul(u1.dmin), min1);
            sum2 = e2.add(o2).fma(dx.mul(u2.d), sum2);
            min2 = lo.mul((float) u2.scales[4 * p]).add(hi.mul((float) u2.scales[4 * p + 2])).fma(dx.mul(u2.dmin), min2);
            sum3 = e3.add(o3).fma(dx.mul(u3.d), sum3);
            min3 = lo.mul((float) u3.scales[4 * p]).add(hi.mul((float) u3.scales[4 * p + 2])).fma(dx.mul(u3.dmin), min3);
        }
        sum0.intoArray(acc, a);
        min0.intoArray(acc, a + 16);
        sum1.intoArray(acc, a + stride);
        min1.intoArray(acc, a + stride + 16);
        sum2.intoArray(acc, a + 2 * stride);
        min2.intoArray(acc, a + 2 * stride + 16);
        sum3.intoArray(acc, a + 3 * stride);
        min3.intoArray(acc, a + 3 * stride + 16);
    }

    /**
     * {@link #accumulateQ6K} for the 16 tokens of group {@code g}, one token per lane: each of the 8
     * integer lanes of llama.cpp's kernel is summed in float over chunks 0..3 and 4..7 separately, which is
     * exact (16 products of at most 128 * 63 * 127 stay below 2^24), and the two halves are added as ints.
     */
    private void accumulateQ6KLanes(Unpacked w, int g, int b, int blocks, int cols, float[] acc, int a) {
        int xo = lanesXo + (g * cols + b * BLOCK) * 16;
        int gb = g * blocks + b;
        FloatVector dd = FloatVector.fromArray(F, lanesD, gb * 16).mul(w.d);
        float[] wf = w.floats;
        int wo = w.fo;
        for (int lane = 0; lane < 8; lane++) {
            // eight independent chains: the lane's four positions in chunks 0..3 and in chunks 4..7
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int i = 32 * lane; i < 32 * lane + 16; i += 4) {
                int x = xo + 16 * i;
                int y = x + 16 * 16;
                s0 = lanesProductArray(x, wf[wo + i], s0);
                s1 = lanesProductArray(x + 16, wf[wo + i + 1], s1);
                s2 = lanesProductArray(x + 32, wf[wo + i + 2], s2);
                s3 = lanesProductArray(x + 48, wf[wo + i + 3], s3);
                s4 = lanesProductArray(y, wf[wo + i + 16], s4);
                s5 = lanesProductArray(y + 16, wf[wo + i + 17], s5);
                s6 = lanesProductArray(y + 32, wf[wo + i + 18], s6);
                s7 = lanesProductArray(y + 48, wf[wo + i + 19], s7);
            }
            IntVector sum = ((IntVector) s0.add(s1).add(s2.add(s3)).convert(VectorOperators.F2I, 0))
                    .add((IntVector) s4.add(s5).add(s6.add(s7)).convert(VectorOperators.F2I, 0));
            int bo = (gb * 16 + 2 * lane) * 16;
            IntVector offset = IntVector.fromArray(I, lanesBsums, bo).mul(w.scales[2 * lane])
                    .add(IntVector.fromArray(I, lanesBsums, bo + 16).mul(w.scales[2 * lane + 1]))
                    .lanewise(VectorOperators.LSHL, 5);
            FloatVector l = (FloatVector) sum.sub(offset).convert(VectorOperators.I2F, 0);
            int o = a + 16 * lane;
            dd.fma(l, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
        }
    }

    /**
     * {@link #accumulateQ4KLanes4} for two groups of 16 tokens at once ({@code g} and {@code g + 1}, whose
     * accumulators are {@link #GROUP_ACC_Q4} apart): each weight broadcast serves 32 tokens and each activation
     * load four rows, 6 loads per 8 fused multiply-adds where one group took 10. One chain per row and group.
     * One thread, 2816 x 1024, 128 tokens: 11-12% faster than a group at a time (same-JVM A/B, both orders);
     * bench-llama-q4_k_m's 128-token prompt on two threads 17-21% faster, tiny-llama-q4_k_m's 7-8%. For
     * Q6_K see {@link #accumulateQ6KLanes4x2}.
     */
    private void accumulateQ4KLanes4x2(Unpacked[] tile, int i0, int g, int b, int blocks, int cols, float[] acc,
                                       int a, int stride) {
        Unpacked u0 = tile[i0];
        Unpacked u1 = tile[i0 + 1];
        Unpacked u2 = tile[i0 + 2];
        Unpacked u3 = tile[i0 + 3];
        // the four rows' floats, one after another in the tile's array
        float[] w = u0.floats;
        int wo = u0.fo;
        MemorySegment xs = lanesXs;
        int xo = (g * cols + b * BLOCK) * 16;
        int yo = xo + cols * 16;
        int gb = g * blocks + b;
        int hb = gb + blocks;
        FloatVector dx = FloatVector.fromArray(F, lanesD, gb * 16);
        FloatVector dy = FloatVector.fromArray(F, lanesD, hb * 16);
        for (int p = 0; p < 4; p++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector e1 = e0;
            FloatVector e2 = e0;
            FloatVector e3 = e0;
            FloatVector f0 = e0;
            FloatVector f1 = e0;
            FloatVector f2 = e0;
            FloatVector f3 = e0;
            for (int i = 64 * p; i < 64 * p + 64; i++) {
                FloatVector x = FloatVector.fromMemorySegment(F, xs, 4L * (xo + 16 * i), ByteOrder.LITTLE_ENDIAN);
                FloatVector y = FloatVector.fromMemorySegment(F, xs, 4L * (yo + 16 * i), ByteOrder.LITTLE_ENDIAN);
                FloatVector v0 = FloatVector.broadcast(F, w[wo + i]);
                FloatVector v1 = FloatVector.broadcast(F, w[wo + 256 + i]);
                FloatVector v2 = FloatVector.broadcast(F, w[wo + 512 + i]);
                FloatVector v3 = FloatVector.broadcast(F, w[wo + 768 + i]);
                e0 = x.fma(v0, e0);
                e1 = x.fma(v1, e1);
                e2 = x.fma(v2, e2);
                e3 = x.fma(v3, e3);
                f0 = y.fma(v0, f0);
                f1 = y.fma(v1, f1);
                f2 = y.fma(v2, f2);
                f3 = y.fma(v3, f3);
            }
            int so = (gb * 8 + 2 * p) * 16;
            int to = (hb * 8 + 2 * p) * 16;
            FloatVector xlo = FloatVector.fromArray(F, lanesSums, so);
            FloatVector xhi = FloatVector.fromArray(F, lanesSums, so + 16);
            FloatVector ylo = FloatVector.fromArray(F, lanesSums, to);
            FloatVector yhi = FloatVector.fromArray(F, lanesSums, to + 16);
            int o = a;
            int q = a + GROUP_ACC_Q4;
            e0.fma(dx.mul(u0.d), FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            xlo.mul((float) u0.scales[4 * p]).add(xhi.mul((float) u0.scales[4 * p + 2]))
                    .fma(dx.mul(u0.dmin), FloatVector.fromArray(F, acc, o + 16)).intoArray(acc, o + 16);
            f0.fma(dy.mul(u0.d), FloatVector.fromArray(F, acc, q)).intoArray(acc, q);
            ylo.mul((float) u0.scales[4 * p]).add(yhi.mul((float) u0.scales[4 * p + 2]))
                    .fma(dy.mul(u0.dmin), FloatVector.fromArray(F, acc, q + 16)).intoArray(acc, q + 16);
            o += stride;
            q += stride;
            e1.fma(dx.mul(u1.d), FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            xlo.mul((float) u1.scales[4 * p]).add(xhi.mul((float) u1.scales[4 * p + 2]))
                    .fma(dx.mul(u1.dmin), FloatVector.fromArray(F, acc, o + 16)).intoArray(acc, o + 16);
            f1.fma(dy.mul(u1.d), FloatVector.fromArray(F, acc, q)).intoArray(acc, q);
            ylo.mul((float) u1.scales[4 * p]).add(yhi.mul((float) u1.scales[4 * p + 2]))
                    .fma(dy.mul(u1.dmin), FloatVector.fromArray(F, acc, q + 16)).intoArray(acc, q + 16);
            o += stride;
            q += stride;
            e2.fma(dx.mul(u2.d), FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            xlo.mul((float) u2.scales[4 * p]).add(xhi.mul((float) u2.scales[4 * p + 2]))
                    .fma(dx.mul(u2.dmin), FloatVector.fromArray(F, acc, o + 16)).intoArray(acc, o + 16);
            f2.fma(dy.mul(u2.d), FloatVector.fromArray(F, acc, q)).intoArray(acc, q);
            ylo.mul((float) u2.scales[4 * p]).add(yhi.mul((float) u2.scales[4 * p + 2]))
                    .fma(dy.mul(u2.dmin), FloatVector.fromArray(F, acc, q + 16)).intoArray(acc, q + 16);
            o += stride;
            q += stride;
            e3.fma(dx.mul(u3.d), FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            xlo.mul((float) u3.scales[4 * p]).add(xhi.mul((float) u3.scales[4 * p + 2]))
                    .fma(dx.mul(u3.dmin), FloatVector.fromArray(F, acc, o + 16)).intoArray(acc, o + 16);
            f3.fma(dy.mul(u3.d), FloatVector.fromArray(F, acc, q)).intoArray(acc, q);
            ylo.mul((float) u3.scales[4 * p]).add(yhi.mul((float) u3.scales[4 * p + 2]))
                    .fma(dy.mul(u3.dmin), FloatVector.fromArray(F, acc, q + 16)).intoArray(acc, q + 16);
        }
    }

    /**
     * {@link #accumulateQ6KLanes} for four rows of the tile at once ({@code tile[i..i+4)}, accumulators
     * {@code stride} apart from {@code a}): each load of 16 tokens' activations serves four rows; per row
     * one chain for chunks 0..3 and one for 4..7, each an exact integer sum as there.
     */
    private void accumulateQ6KLanes4(Unpacked[] tile, int i0, int g, int b, int blocks, int cols, float[] acc, int a,
                                     int stride) {
        Unpacked u0 = tile[i0];
        Unpacked u1 = tile[i0 + 1];
        Unpacked u2 = tile[i0 + 2];
        Unpacked u3 = tile[i0 + 3];
        // the four rows' floats, one after another in the tile's array
        float[] w = u0.floats;
        int wo = u0.fo;
        float[] xs = lanesX;
        int xo = lanesXo + (g * cols + b * BLOCK) * 16;
        int gb = g * blocks + b;
        FloatVector dx = FloatVector.fromArray(F, lanesD, gb * 16);
        for (int lane = 0; lane < 8; lane++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector b0 = a0;
            FloatVector a1 = a0;
            FloatVector b1 = a0;
            FloatVector a2 = a0;
            FloatVector b2 = a0;
            FloatVector a3 = a0;
            FloatVector b3 = a0;
            for (int i = 32 * lane; i < 32 * lane + 16; i++) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 16 * i);
                FloatVector y = FloatVector.fromArray(F, xs, xo + 16 * (i + 16));
                a0 = x.fma(FloatVector.broadcast(F, w[wo + i]), a0);
                a1 = x.fma(FloatVector.broadcast(F, w[wo + 256 + i]), a1);
                a2 = x.fma(FloatVector.broadcast(F, w[wo + 512 + i]), a2);
                a3 = x.fma(FloatVector.broadcast(F, w[wo + 768 + i]), a3);
                b0 = y.fma(FloatVector.broadcast(F, w[wo + i + 16]), b0);
                b1 = y.fma(FloatVector.broadcast(F, w[wo + 256 + i + 16]), b1);
                b2 = y.fma(FloatVector.broadcast(F, w[wo + 512 + i + 16]), b2);
                b3 = y.fma(FloatVector.broadcast(F, w[wo + 768 + i + 16]), b3);
            }
            int bo = (gb * 16 + 2 * lane) * 16;
            IntVector lo = IntVector.fromArray(I, lanesBsums, bo);
            IntVector hi = IntVector.fromArray(I, lanesBsums, bo + 16);
            int o = a + 16 * lane;
            IntVector s0 = ((IntVector) a0.convert(VectorOperators.F2I, 0)).add((IntVector) b0.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(u0.scales[2 * lane]).add(hi.mul(u0.scales[2 * lane + 1])).lanewise(VectorOperators.LSHL, 5));
            dx.mul(u0.d).fma((FloatVector) s0.convert(VectorOperators.I2F, 0), FloatVector.fromArray(F, acc, o))
                    .intoArray(acc, o);
            IntVector s1 = ((IntVector) a1.convert(VectorOperators.F2I, 0)).add((IntVector) b1.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(u1.scales[2 * lane]).add(hi.mul(u1.scales[2 * lane + 1])).lanewise(VectorOperators.LSHL, 5));
            dx.mul(u1.d).fma((FloatVector) s1.convert(VectorOperators.I2F, 0), FloatVector.fromArray(F, acc, o + stride))
                    .intoArray(acc, o + stride);
            IntVector s2 = ((IntVector) a2.convert(VectorOperators.F2I, 0)).add((IntVector) b2.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(u2.scales[2 * lane]).add(hi.mul(u2.scales[2 * lane + 1])).lanewise(VectorOperators.LSHL, 5));
            dx.mul(u2.d).fma((FloatVector) s2.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 2 * stride)).intoArray(acc, o + 2 * stride);
            IntVector s3 = ((IntVector) a3.convert(VectorOperators.F2I, 0)).add((IntVector) b3.convert(VectorOperators.F2I, 0))
                    .sub(lo.mul(u3.scales[2 * lane]).add(hi.mul(u3.scales[2 * lane + 1])).lanewise(VectorOperators.LSHL, 5));
            dx.mul(u3.d).fma((FloatVector) s3.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 3 * stride)).intoArray(acc, o + 3 * stride);
        }
    }

    /**
     * {@link #accumulateQ6KLanes4} for two groups of 16 tokens at once ({@code g} and {@code g + 1}, whose
     * accumulators are {@link #GROUP_ACC} apart): each weight broadcast serves 32 tokens and each activation
     * load four rows. Each lane's chunks 0..3 are summed first (8 chains: 4 rows, 2 groups) and kept as
     * ints, then its chunks 4..7, so that no more than 8 float chains are live (16, both halves at once,
     * had been 7-9% slower than {@link #accumulateQ6KLanes4} on an Intel Xeon). Same exact integer sums, so
     * the same bits. One Zen 5 thread, 128 tokens, 1024 x 2816: 14-22% faster than a group at a time (three
     * alternating runs: 17.9 -> 14.7, 17.9 -> 15.4, 13.6 -> 11.7 ms); 4096 x 256: 5-9%. The two halves are
     * written out: as one loop over the halves, adding into 8 int vectors kept across it, the kernel took
     * 16.0-19.9 instead of 12.0-15.4 ms (seven alternating runs).
     */
    private void accumulateQ6KLanes4x2(Unpacked[] tile, int i0, int g, int b, int blocks, int cols, float[] acc,
                                       int a, int stride) {
        Unpacked u0 = tile[i0];
        Unpacked u1 = tile[i0 + 1];
        Unpacked u2 = tile[i0 + 2];
        Unpacked u3 = tile[i0 + 3];
        // the four rows' floats, one after another in the tile's array
        float[] w = u0.floats;
        int wo = u0.fo;
        float[] xs = lanesX;
        int xo = lanesXo + (g * cols + b * BLOCK) * 16;
        int yo = xo + cols * 16;
        int gb = g * blocks + b;
        int hb = gb + blocks;
        FloatVector dx = FloatVector.fromArray(F, lanesD, gb * 16);
        FloatVector dy = FloatVector.fromArray(F, lanesD, hb * 16);
        for (int lane = 0; lane < 8; lane++) {
            FloatVector e0 = FloatVector.zero(F);
            FloatVector e1 = e0;
            FloatVector e2 = e0;
            FloatVector e3 = e0;
            FloatVector f0 = e0;
            FloatVector f1 = e0;
            FloatVector f2 = e0;
            FloatVector f3 = e0;
            for (int i = 32 * lane; i < 32 * lane + 16; i++) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 16 * i);
                FloatVector y = FloatVector.fromArray(F, xs, yo + 16 * i);
                FloatVector v = FloatVector.broadcast(F, w[wo + i]);
                e0 = x.fma(v, e0);
                f0 = y.fma(v, f0);
                v = FloatVector.broadcast(F, w[wo + 256 + i]);
                e1 = x.fma(v, e1);
                f1 = y.fma(v, f1);
                v = FloatVector.broadcast(F, w[wo + 512 + i]);
                e2 = x.fma(v, e2);
                f2 = y.fma(v, f2);
                v = FloatVector.broadcast(F, w[wo + 768 + i]);
                e3 = x.fma(v, e3);
                f3 = y.fma(v, f3);
            }
            IntVector ei0 = (IntVector) e0.convert(VectorOperators.F2I, 0);
            IntVector ei1 = (IntVector) e1.convert(VectorOperators.F2I, 0);
            IntVector ei2 = (IntVector) e2.convert(VectorOperators.F2I, 0);
            IntVector ei3 = (IntVector) e3.convert(VectorOperators.F2I, 0);
            IntVector fi0 = (IntVector) f0.convert(VectorOperators.F2I, 0);
            IntVector fi1 = (IntVector) f1.convert(VectorOperators.F2I, 0);
            IntVector fi2 = (IntVector) f2.convert(VectorOperators.F2I, 0);
            IntVector fi3 = (IntVector) f3.convert(VectorOperators.F2I, 0);
            e0 = FloatVector.zero(F);
            e1 = e0;
            e2 = e0;
            e3 = e0;
            f0 = e0;
            f1 = e0;
            f2 = e0;
            f3 = e0;
            for (int i = 32 * lane + 16; i < 32 * lane + 32; i++) {
                FloatVector x = FloatVector.fromArray(F, xs, xo + 16 * i);
                FloatVector y = FloatVector.fromArray(F, xs, yo + 16 * i);
                FloatVector v = FloatVector.broadcast(F, w[wo + i]);
                e0 = x.fma(v, e0);
                f0 = y.fma(v, f0);
                v = FloatVector.broadcast(F, w[wo + 256 + i]);
                e1 = x.fma(v, e1);
                f1 = y.fma(v, f1);
                v = FloatVector.broadcast(F, w[wo + 512 + i]);
                e2 = x.fma(v, e2);
                f2 = y.fma(v, f2);
                v = FloatVector.broadcast(F, w[wo + 768 + i]);
                e3 = x.fma(v, e3);
                f3 = y.fma(v, f3);
            }
            int bo = (gb * 16 + 2 * lane) * 16;
            int bp = (hb * 16 + 2 * lane) * 16;
            IntVector lx = IntVector.fromArray(I, lanesBsums, bo);
            IntVector hx = IntVector.fromArray(I, lanesBsums, bo + 16);
            IntVector ly = IntVector.fromArray(I, lanesBsums, bp);
            IntVector hy = IntVector.fromArray(I, lanesBsums, bp + 16);
            int o = a + 16 * lane;
            int q = o + GROUP_ACC;
            IntVector es0 = ((IntVector) e0.convert(VectorOperators.F2I, 0)).add(ei0)
                    .sub(lx.mul(u0.scales[2 * lane]).add(hx.mul(u0.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dx.mul(u0.d).fma((FloatVector) es0.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 0 * stride)).intoArray(acc, o + 0 * stride);
            IntVector fs0 = ((IntVector) f0.convert(VectorOperators.F2I, 0)).add(fi0)
                    .sub(ly.mul(u0.scales[2 * lane]).add(hy.mul(u0.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dy.mul(u0.d).fma((FloatVector) fs0.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, q + 0 * stride)).intoArray(acc, q + 0 * stride);
            IntVector es1 = ((IntVector) e1.convert(VectorOperators.F2I, 0)).add(ei1)
                    .sub(lx.mul(u1.scales[2 * lane]).add(hx.mul(u1.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dx.mul(u1.d).fma((FloatVector) es1.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 1 * stride)).intoArray(acc, o + 1 * stride);
            IntVector fs1 = ((IntVector) f1.convert(VectorOperators.F2I, 0)).add(fi1)
                    .sub(ly.mul(u1.scales[2 * lane]).add(hy.mul(u1.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dy.mul(u1.d).fma((FloatVector) fs1.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, q + 1 * stride)).intoArray(acc, q + 1 * stride);
            IntVector es2 = ((IntVector) e2.convert(VectorOperators.F2I, 0)).add(ei2)
                    .sub(lx.mul(u2.scales[2 * lane]).add(hx.mul(u2.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dx.mul(u2.d).fma((FloatVector) es2.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 2 * stride)).intoArray(acc, o + 2 * stride);
            IntVector fs2 = ((IntVector) f2.convert(VectorOperators.F2I, 0)).add(fi2)
                    .sub(ly.mul(u2.scales[2 * lane]).add(hy.mul(u2.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dy.mul(u2.d).fma((FloatVector) fs2.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, q + 2 * stride)).intoArray(acc, q + 2 * stride);
            IntVector es3 = ((IntVector) e3.convert(VectorOperators.F2I, 0)).add(ei3)
                    .sub(lx.mul(u3.scales[2 * lane]).add(hx.mul(u3.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dx.mul(u3.d).fma((FloatVector) es3.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, o + 3 * stride)).intoArray(acc, o + 3 * stride);
            IntVector fs3 = ((IntVector) f3.convert(VectorOperators.F2I, 0)).add(fi3)
                    .sub(ly.mul(u3.scales[2 * lane]).add(hy.mul(u3.scales[2 * lane + 1]))
                            .lanewise(VectorOperators.LSHL, 5));
            dy.mul(u3.d).fma((FloatVector) fs3.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, acc, q + 3 * stride)).intoArray(acc, q + 3 * stride);
        }
    }

    /** {@code acc + lanesX[x..x+16) * weight}: {@link #lanesProduct} for Q6_K. */
    private FloatVector lanesProductArray(int x, float weight, FloatVector acc) {
        return FloatVector.fromArray(F, lanesX, x).fma(FloatVector.broadcast(F, weight), acc);
    }

    /** {@code acc + lanesXs[x..x+16) * weight}: one position of 16 tokens times one weight (Q4_K). */
    private FloatVector lanesProduct(int x, float weight, FloatVector acc) {
        return FloatVector.fromMemorySegment(F, lanesXs, 4L * x, ByteOrder.LITTLE_ENDIAN)
                .fma(FloatVector.broadcast(F, weight), acc);
    }

    /** Quantized activations {@code q[i..i+LANES)} widened to ints. */
    private IntVector activations(int i) {
        return (IntVector) ByteVector.fromArray(B, q, i).convertShape(VectorOperators.B2I, I, 0);
    }

    /** 8 bytes sign-extended to ints (8 int lanes). */
    static IntVector bytes8(MemorySegment w, long offset) {
        return (IntVector) ByteVector.fromMemorySegment(B8, w, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2I, I, 0);
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Integer>[] chunkScales() {
        if (LANES != 16) {
            return null;
        }
        VectorShuffle<Integer>[] shuffles = new VectorShuffle[8];
        for (int c = 0; c < 8; c++) {
            int chunk = c;
            shuffles[c] = shuffle(m -> 2 * chunk + (m >> 3));
        }
        return shuffles;
    }

    private static VectorShuffle<Integer> scales8(int c) {
        return LANES == 8 ? VectorShuffle.fromOp(IntVector.SPECIES_256, m -> 2 * c + (m >> 2)) : null;
    }

    private static VectorShuffle<Integer> pairScales(int p) {
        return shuffle(m -> m < 8 ? 2 * p + (m >> 2) : 8 + 2 * p + ((m - 8) >> 2));
    }

    private static IntVector intLanes(java.util.function.IntUnaryOperator lane) {
        if (LANES != 16) {
            return null;
        }
        int[] values = new int[16];
        for (int m = 0; m < 16; m++) {
            values[m] = lane.applyAsInt(m);
        }
        return IntVector.fromArray(I, values, 0);
    }

    private static VectorShuffle<Integer> shuffle(java.util.function.IntUnaryOperator lane) {
        return LANES == 16 ? VectorShuffle.fromOp(I, lane) : null;
    }

    private static VectorSpecies<Integer> intSpecies() {
        int bits = VectorWidth.BITS;
        return bits >= 512 ? IntVector.SPECIES_512 : bits >= 256 ? IntVector.SPECIES_256 : null;
    }

    /** One weight super-block unpacked to integers, with the float scales it carries. */
    static final class Unpacked {
        /**
         * The 256 weights, each times its sub-block scale (Q6_K: 0..63 unsigned; Q4_K: 0..15); Q6_K with 16
         * int lanes uses {@link #sixBits} instead.
         */
        final int[] values = new int[BLOCK];
        /** Q6_K with 16 int lanes: the unsigned 6-bit weights, unscaled. */
        final short[] sixBits = new short[BLOCK];
        /**
         * {@link #values} as floats (exact), for the prompt kernel: {@code floats[fo..fo+256)}, in an array that
         * the tile's rows share, one row after another (so that a kernel on four rows reads them from one base).
         */
        final float[] floats;
        final int fo;
        /**
         * Q6_K: the 16 signed sub-block scales. Q4_K: each 32-value sub-block's min, twice (aligned with the
         * activations' 16-value sums).
         */
        final int[] scales = new int[16];
        float d;
        float dmin;

        Unpacked(float[] floats, int fo) {
            this.floats = floats;
            this.fo = fo;
        }

        void unpackQ6K(MemorySegment w, long base) {
            // block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16)
            if (LANES == 16) {
                bytes(w, base + 192).intoArray(scales, 0);
            } else {
                for (int i = 0; i < 16; i++) {
                    scales[i] = w.get(ValueLayout.JAVA_BYTE, base + 192 + i);
                }
            }
            d = Float.float16ToFloat(w.get(SHORT_LE, base + 208));
            for (int chunk = 0; chunk < 8; chunk++) {
                int j = chunk >> 2;
                int c = chunk & 3;
                long lBase = base + 64L * j + ((c & 1) << 5);
                long hBase = base + 128 + 32L * j;
                int lowShift = (c >> 1) << 2;   // chunks 2, 3 of each half take the high nibbles
                int highShift = c << 1;         // bits 2c..2c+1 of qh
                if (LANES == 16) {
                    ShortVector lo = shorts(w, lBase).lanewise(VectorOperators.ASHR, lowShift).and((short) 15);
                    ShortVector hi = shorts(w, hBase).lanewise(VectorOperators.ASHR, highShift).and((short) 3);
                    lo.or(hi.lanewise(VectorOperators.LSHL, 4)).intoArray(sixBits, 32 * chunk);
                    continue;
                }
                for (int h = 0; h < 32; h += 16) {
                    int scale = scales[2 * chunk + h / 16];
                    int o = 32 * chunk + h;
                    if (LANES > 0) {
                        for (int i = h; i < h + 16; i += LANES) {
                            IntVector lo = bytes(w, lBase + i).lanewise(VectorOperators.ASHR, lowShift).and(15);
                            IntVector hi = bytes(w, hBase + i).lanewise(VectorOperators.ASHR, highShift).and(3);
                            lo.or(hi.lanewise(VectorOperators.LSHL, 4)).mul(scale).intoArray(values, o + i - h);
                        }
                    } else {
                        for (int i = h; i < h + 16; i++) {
                            int lo = (w.get(ValueLayout.JAVA_BYTE, lBase + i) >> lowShift) & 15;
                            int hi = (w.get(ValueLayout.JAVA_BYTE, hBase + i) >> highShift) & 3;
                            values[o + i - h] = (lo | (hi << 4)) * scale;
                        }
                    }
                }
            }
        }

        /**
         * Q6_K with 16 int lanes: {@link #floats} = 6-bit weight times sub-block scale, in {@link #q6LaneOrder}
         * (each lane of {@code ggml_vec_dot_q6_K_q8_K} in one run, so that the prompt kernels' loops over a lane's
         * values are plain counted loops). 16 values (one scale) at a time, not a scalar loop (which C2 did not
         * vectorize); then the 4-value units of four sub-blocks transposed.
         */
        void scaledSixBitsAsFloats() {
            for (int half = 0; half < 2; half++) {
                for (int hs = 0; hs < 2; hs++) {
                    // sub-block 8 half + 2 chunk + hs: values 16 hs..16 hs+15 of chunk 4 half + chunk, whose
                    // units (four values each) belong to lanes 4 hs..4 hs+3
                    IntVector a = scaledSub(8 * half + hs);
                    IntVector b = scaledSub(8 * half + 2 + hs);
                    IntVector c = scaledSub(8 * half + 4 + hs);
                    IntVector e = scaledSub(8 * half + 6 + hs);
                    IntVector abLo = UNITS_LO.selectFrom(a, b);
                    IntVector abHi = UNITS_HI.selectFrom(a, b);
                    IntVector ceLo = UNITS_LO.selectFrom(c, e);
                    IntVector ceHi = UNITS_HI.selectFrom(c, e);
                    // lane 4 hs + j: unit j of the four sub-blocks, at 32 (4 hs + j) + 16 half
                    int o = 128 * hs + 16 * half;
                    floatsAt(PAIRS_LO.selectFrom(abLo, ceLo), o);
                    floatsAt(PAIRS_HI.selectFrom(abLo, ceLo), o + 32);
                    floatsAt(PAIRS_LO.selectFrom(abHi, ceHi), o + 64);
                    floatsAt(PAIRS_HI.selectFrom(abHi, ceHi), o + 96);
                }
            }
        }

        /** Sub-block {@code sub}'s 16 six-bit weights times its scale. */
        private IntVector scaledSub(int sub) {
            return ((IntVector) ShortVector.fromArray(ShortVector.SPECIES_256, sixBits, 16 * sub)
                    .convertShape(VectorOperators.S2I, I, 0)).mul(scales[sub]);
        }

        private void floatsAt(IntVector v, int o) {
            ((FloatVector) v.convert(VectorOperators.I2F, 0)).intoArray(floats, fo + o);
        }

        void valuesAsFloats() {
            for (int i = 0; i < BLOCK; i += LANES) {
                ((FloatVector) IntVector.fromArray(I, values, i).convert(VectorOperators.I2F, 0))
                        .intoArray(floats, fo + i);
            }
        }

        void unpackQ4K(MemorySegment w, long base) {
            // block_q4_K: d (f16), dmin (f16), scales[12] (6-bit scales and mins), qs[128]; the header read as
            // two longs (two bounds checks, not some forty for the scale bytes one by one), and each byte of qs
            // read once for both of its nibbles
            long h0 = w.get(LONG_LE, base);
            long h1 = w.get(LONG_LE, base + 8);
            d = Float.float16ToFloat((short) h0);
            dmin = Float.float16ToFloat((short) (h0 >>> 16));
            long packedScales = q4Scales(h0, h1);
            long packedMins = q4Mins(h1);
            for (int p = 0; p < 4; p++) {
                // sub-blocks 2p and 2p+1 are the low and high nibbles of qs[32p..32p+32)
                int lowScale = (int) (packedScales >>> (16 * p)) & 0xff;
                int highScale = (int) (packedScales >>> (16 * p + 8)) & 0xff;
                int lowMin = (int) (packedMins >>> (16 * p)) & 0xff;
                int highMin = (int) (packedMins >>> (16 * p + 8)) & 0xff;
                scales[4 * p] = lowMin;
                scales[4 * p + 1] = lowMin;
                scales[4 * p + 2] = highMin;
                scales[4 * p + 3] = highMin;
                long qb = base + 16 + 32L * p;
                if (LANES > 0) {
                    for (int i = 0; i < 32; i += LANES) {
                        IntVector q = bytes(w, qb + i);
                        q.and(15).mul(lowScale).intoArray(values, 64 * p + i);
                        q.lanewise(VectorOperators.ASHR, 4).and(15).mul(highScale).intoArray(values, 64 * p + 32 + i);
                    }
                } else {
                    for (int i = 0; i < 32; i++) {
                        int q = w.get(ValueLayout.JAVA_BYTE, qb + i);
                        values[64 * p + i] = (q & 15) * lowScale;
                        values[64 * p + 32 + i] = ((q >> 4) & 15) * highScale;
                    }
                }
            }
        }

        static ShortVector shorts(MemorySegment w, long offset) {
            return (ShortVector) ByteVector.fromMemorySegment(B32, w, offset, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S32, 0);
        }

        static IntVector bytes(MemorySegment w, long offset) {
            return (IntVector) ByteVector.fromMemorySegment(B, w, offset, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2I, I, 0);
        }
    }

    /** Per-thread buffers of {@link #matmul}. */
    private static final class Scratch {
        /**
         * {@link Q8_KActivations#rowsQ4KGemm4}'s accumulators: per four tokens, their products' four, then
         * their mins' four.
         */
        final float[] gemmAcc = new float[2 * Q4_K_GROUP_TOKENS];
        /** {@link Q8_KActivations#rowsQ6K4}'s accumulators: 16 float lanes of each token. */
        final float[] q6Acc = new float[16 * Q6_K_GROUP_TOKENS];
        /** One tile's unpacked super-blocks, for either type's tile height. */
        final Unpacked[] tile = new Unpacked[Math.max(Q4_K_TILE_ROWS, Q6_K_TILE_ROWS)];
        final int[] positions = new int[32];
        final int[] pairSums = new int[4];
        final int[] minProducts = new int[16];
        /**
         * {@link Q8_KActivations#matmulLanes8}'s finished lanes of a group of 8 tokens, or {@link
         * Q8_KActivations#rowsQ4KGemm4}'s four tokens' pair sums (16) and mins (16) as floats.
         */
        final float[] lanes = new float[32];
        /** {@link Q8_KActivations#rowsQ4KGemm4}'s two pairs of tokens' folded sums, 16 ints each. */
        final int[] folded = new int[32];
        /** The sum of the bytes {@link Q8_KActivations#loadAhead} loaded, kept so that the loads are kept. */
        long touched;
        /** {@link Q8_KActivations#accumulateQ4KLanes8}'s gemv sums of four rows' 8 lanes. */
        final int[] gemvSums = new int[32];
        final float[] gemvMins = new float[32];
        /**
         * {@link Q8_KActivations#matmulLanes8}'s tile: its rows' super-blocks unpacked to floats, 256 per row
         * (weight times sub-block scale), their 16 scales (Q6_K) or mins (Q4_K, as {@link Unpacked#scales}),
         * and their d and dmin.
         */
        final float[] tileW = new float[LANES8_TILE_ROWS * BLOCK];
        final int[] tileScales = new int[LANES8_TILE_ROWS * 16];
        final float[] tileD = new float[LANES8_TILE_ROWS];
        final float[] tileDmin = new float[LANES8_TILE_ROWS];
        /** {@link Q8_KActivations#accumulateQ4KLanes8x2}'s chain sums of a pair of sub-blocks. */
        final float[] chainSums = new float[64];
        /** The 16 scales of the Q6_K super-block being unpacked, as floats. */
        final float[] scaleFloats = new float[16];
        private float[] acc = new float[0];
        private float[] stage = new float[0];
        private float[] rowStage = new float[0];
        /** {@link #rowStage}'s floats between rows. */
        int rowStride;
        /** Offsets of 16 staged rows, {@link #rowStride} apart. */
        final int[] rowMap = new int[16];

        /** {@link #tile}'s floats, one row after another. */
        final float[] tileFloats = new float[Math.max(Q4_K_TILE_ROWS, Q6_K_TILE_ROWS) * BLOCK];

        Scratch() {
            for (int i = 0; i < tile.length; i++) {
                tile[i] = new Unpacked(tileFloats, i * BLOCK);
            }
        }

        /** Outputs of up to {@link #STAGE_ROWS} rows for {@code n} tokens, {@link #STAGE_STRIDE} apart. */
        float[] stage(int n) {
            if (stage.length < n * STAGE_STRIDE) {
                stage = new float[n * STAGE_STRIDE];
            }
            return stage;
        }

        /**
         * The 16-lane prompt kernels' outputs of up to {@link #STAGE_ROWS} rows, row after row, {@link #rowStride}
         * floats apart: each row's 16-token vectors are stored whole, and each token's outputs gathered 16 rows
         * at a time ({@link #rowMap}) on their way out. Scattered to the tokens' staged outputs instead (one
         * scalar store per output, or a scatter per vector), they had been 7-9% of tiny-llama-q4_k_m's prompts.
         */
        float[] rowStage(int n) {
            // n + 16: a last group's empty lanes stay inside the row; an odd multiple of 16 floats, so that the
            // 16 rows of a gather fall into different L1 sets
            int stride = (n + 16 + 15) / 16 * 16;
            if (stride / 16 % 2 == 0) {
                stride += 16;
            }
            if (stride != rowStride) {
                rowStride = stride;
                for (int r = 0; r < 16; r++) {
                    rowMap[r] = r * stride;
                }
            }
            if (rowStage.length < STAGE_ROWS * stride) {
                rowStage = new float[STAGE_ROWS * stride];
            }
            return rowStage;
        }

        float[] accumulators(int size) {
            if (acc.length < size) {
                acc = new float[size];
            }
            return acc;
        }
    }
}
