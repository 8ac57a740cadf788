package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Vector API Q4_K and Q6_K kernels give the same bits as the scalar reproduction of llama.cpp's x86
 * kernels they replaced ({@link ScalarReference}, kept here verbatim), for batches of 1..9 tokens (which
 * switch Q4_K between its gemv and gemm accumulation orders, and take the four-token kernels with leftover
 * tokens), of 12, of 16..36 (Q4_K's 16-token prompt kernel, with leftover tokens: 27 makes a full group, a
 * padded one of 8 and 3 gemv tokens; from two groups on, 27, 33, 36 and 67, Q4_K takes two groups at a time)
 * and of 67 and 83 (Q6_K's prompt kernel: four full groups and 3 tokens, two groups at a time; five groups,
 * the last one alone) on random blocks. With 8 int lanes (AVX2), Q6_K batches from 5 tokens and Q4_K ones from
 * 7 go 8 tokens to a vector, and so do as many tokens left over past whole groups (fewer take the one-token
 * kernels): Q6_K 5..8, 13 and 21 fill part of a group, 9, 12, 19, 27 leave tokens to the one-token kernels;
 * Q4_K's 7, 15 and 23 put gemm and gemv tokens in one group, 14, 19, 36 and 67 leave gemm or gemv tokens to
 * the one-token kernels, 16 and more take two groups at a time.
 */
class Q8_KActivationsTest {
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static Stream<Object[]> cases() {
        return Stream.of(GgmlType.Q4_K, GgmlType.Q6_K)
                .flatMap(type -> IntStream.concat(IntStream.rangeClosed(1, 9),
                                IntStream.of(10, 12, 13, 14, 15, 16, 19, 21, 23, 27, 33, 36, 67, 83))
                        .mapToObj(n -> new Object[] {type, n}));
    }

    @ParameterizedTest(name = "{0} x {1} tokens")
    @MethodSource("cases")
    void matchesScalarReferenceBitForBit(GgmlType type, int n) {
        Random random = new Random(31L * n + type.ordinal());
        int rows = 24;
        for (int cols : new int[] {256, 768}) {
            FloatTensor w = randomWeights(random, type, rows, cols);
            float[] x = activations(random, n * cols);

            assertSameBitsAsReference(w, x, n, rows, cols, type + " cols " + cols);
        }
    }

    @ParameterizedTest(name = "{0} x {1} tokens, 200 rows")
    @MethodSource("cases")
    void manyRowsMatchTheReference(GgmlType type, int n) {
        // more rows than a prompt's outputs are staged at a time (32), ending in a part-filled stage, and
        // enough work to be split across the pool's threads
        Random random = new Random(37L * n + type.ordinal());
        int rows = 200;
        int cols = 512;
        assertSameBitsAsReference(randomWeights(random, type, rows, cols), activations(random, n * cols), n, rows,
                cols, type + " 200 rows");
    }

    @ParameterizedTest(name = "{0} x {1} tokens, odd row counts")
    @MethodSource("cases")
    void rowCountsOffTheTilesMatchTheReference(GgmlType type, int n) {
        // row counts that leave part-filled tiles and kernel calls (the 8-lane batch kernels take 3 rows at a
        // time, in tiles of 12); Q4_K only comes in multiples of 8 rows
        Random random = new Random(41L * n + type.ordinal());
        int cols = 256;
        for (int rows : type == GgmlType.Q4_K ? new int[] {8, 40} : new int[] {1, 13, 40}) {
            assertSameBitsAsReference(randomWeights(random, type, rows, cols), activations(random, n * cols), n,
                    rows, cols, type + " " + rows + " rows");
        }
    }

    @ParameterizedTest(name = "{0} tokens")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 5, 7, 8, 19, 36})
    void productsSharingActivationsMatchTheReference(int n) {
        // one quantization multiplied by several matrices in turn (a layer's Q, K and V share theirs, and the
        // 8-lane batch kernels their transposed copy), of both types, then new activations of the same shape
        Random random = new Random(43L * n);
        int cols = 512;
        FloatTensor[] ws = {randomWeights(random, GgmlType.Q4_K, 24, cols), randomWeights(random, GgmlType.Q6_K, 16, cols),
                randomWeights(random, GgmlType.Q4_K, 24, cols), randomWeights(random, GgmlType.Q4_K, 32, cols)};
        int[] rows = {24, 16, 24, 32};
        Q8_KActivations fast = new Q8_KActivations();
        ScalarReference ref = new ScalarReference();
        for (int round = 0; round < 2; round++) {
            float[] x = activations(random, n * cols);
            fast.quantize(x, n * cols);
            ref.quantize(x, n * cols);
            for (int k = 0; k < ws.length; k++) {
                float[] out = new float[n * rows[k]];
                fast.matmul(ws[k], n, out, rows[k], cols);
                float[] expected = new float[n * rows[k]];
                ref.matmul(ws[k], n, expected, rows[k], cols);
                for (int i = 0; i < out.length; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(out[i]),
                            "round " + round + " matrix " + k + " token " + i / rows[k] + " row " + i % rows[k]);
                }
            }
        }
    }

    /** The kernels' products of {@code x} ({@code n} tokens) and {@code w} equal the scalar reference's bits. */
    private static void assertSameBitsAsReference(FloatTensor w, float[] x, int n, int rows, int cols, String what) {
        Q8_KActivations fast = new Q8_KActivations();
        // loading the super-blocks ahead (Intel CPUs) must change nothing, nor read past the tensor: both ways,
        // whatever this machine is
        fast.loadAhead = (rows + n) % 2 == 1;
        fast.quantize(x, n * cols);
        float[] out = new float[n * rows];
        fast.matmul(w, n, out, rows, cols);

        ScalarReference ref = new ScalarReference();
        ref.quantize(x, n * cols);
        float[] expected = new float[n * rows];
        ref.matmul(w, n, expected, rows, cols);

        for (int i = 0; i < out.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(out[i]),
                    what + " token " + i / rows + " row " + i % rows + ": expected " + expected[i] + ", got " + out[i]);
        }
    }

    /**
     * The largest integer sums the kernels can meet (every weight, scale and min at its extreme, activations
     * all at ±127): the one-token kernels' float sums of integers must stay exact there too.
     */
    @ParameterizedTest(name = "{0} x {1} tokens")
    @MethodSource("cases")
    void extremeBlocksMatchScalarReferenceBitForBit(GgmlType type, int n) {
        int rows = 16;
        int cols = 512;
        for (int fill : new int[] {0xFF, 0x80, 0x7F}) {
            int blockBytes = type == GgmlType.Q4_K ? 144 : 210;
            byte[] bytes = new byte[rows * cols / 256 * blockBytes];
            java.util.Arrays.fill(bytes, (byte) fill);
            MemorySegment seg = MemorySegment.ofArray(bytes);
            for (long base = 0; base < bytes.length; base += blockBytes) {
                seg.set(SHORT_LE, type == GgmlType.Q4_K ? base : base + 208, Float.floatToFloat16(0.01f));
                if (type == GgmlType.Q4_K) {
                    seg.set(SHORT_LE, base + 2, Float.floatToFloat16(0.003f));
                }
            }
            FloatTensor w = FloatTensor.of(type, seg, (long) rows * cols);
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                // one sign per block, alternating by block and token
                x[i] = (i / 256) % 2 == 0 ? 1f : -1f;
            }
            assertSameBitsAsReference(w, x, n, rows, cols, type + " fill " + fill);
        }
    }

    /** Random bytes with finite half-precision scales of realistic size (and some zero blocks). */
    private static FloatTensor randomWeights(Random random, GgmlType type, int rows, int cols) {
        int blockBytes = type == GgmlType.Q4_K ? 144 : 210;
        int blocks = rows * cols / 256;
        byte[] bytes = new byte[blocks * blockBytes];
        random.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        for (int b = 0; b < blocks; b++) {
            long base = (long) b * blockBytes;
            if (type == GgmlType.Q4_K) {
                seg.set(SHORT_LE, base, Float.floatToFloat16(random.nextFloat() * 0.01f));
                seg.set(SHORT_LE, base + 2, Float.floatToFloat16(random.nextFloat() * 0.01f));
            } else {
                seg.set(SHORT_LE, base + 208, Float.floatToFloat16((random.nextFloat() - 0.5f) * 0.01f));
            }
        }
        return FloatTensor.of(type, seg, (long) rows * cols);
    }

    /** Gaussian values of varied magnitude per block, with an all-zero block now and then. */
    private static float[] activations(Random random, int len) {
        float[] x = new float[len];
        for (int b = 0; b < len; b += 256) {
            if (random.nextInt(7) == 0) {
                continue;
            }
            float std = (float) Math.pow(10, random.nextInt(5) - 2);
            for (int i = b; i < b + 256; i++) {
                x[i] = (float) random.nextGaussian() * std;
            }
        }
        return x;
    }

    /** The scalar kernels of {@link Q8_KActivations} before vectorization: the bit-exact reference. */
    static final class ScalarReference {
        private static final int BLOCK = 256;
        private static final int Q6_K_BYTES = 210;
        private static final int Q4_K_BYTES = 144;

        private byte[] q = new byte[0];
        private float[] d = new float[0];
        private int[] bsums = new int[0];

        void quantize(float[] x, int len) {
            int blocks = len / BLOCK;
            if (q.length < len) {
                q = new byte[len];
                d = new float[blocks];
                bsums = new int[blocks * 16];
            }
            for (int b = 0; b < blocks; b++) {
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
                    continue;
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
        }

        void matmul(FloatTensor w, int n, float[] out, int rows, int cols) {
            MemorySegment seg = w.data();
            int blocks = cols / BLOCK;
            if (w.type() == GgmlType.Q4_K) {
                int gemmTokens = n > 3 ? n - n % 4 : 0;
                for (int r = 0; r < rows; r++) {
                    long rowBase = (long) r * blocks * Q4_K_BYTES;
                    for (int t = 0; t < n; t++) {
                        out[t * rows + r] = dotQ4K(seg, rowBase, t * blocks, blocks, t < gemmTokens);
                    }
                }
                return;
            }
            for (int r = 0; r < rows; r++) {
                long rowBase = (long) r * blocks * Q6_K_BYTES;
                for (int t = 0; t < n; t++) {
                    out[t * rows + r] = dotQ6K(seg, rowBase, t * blocks, blocks);
                }
            }
        }

        private float dotQ6K(MemorySegment w, long rowBase, int firstBlock, int blocks) {
            float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
            long base = rowBase;
            for (int b = 0; b < blocks; b++, base += Q6_K_BYTES) {
                int xb = firstBlock + b;
                int qo = xb * BLOCK;
                long ql = base;
                long qh = base + 128;
                long sc = base + 192;
                float dd = d[xb] * Float.float16ToFloat(w.get(SHORT_LE, base + 208));
                int l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
                for (int chunk = 0; chunk < 8; chunk++) {
                    int j = chunk >> 2;
                    int c = chunk & 3;
                    int scLo = w.get(ValueLayout.JAVA_BYTE, sc + 2 * chunk);
                    int scHi = w.get(ValueLayout.JAVA_BYTE, sc + 2 * chunk + 1);
                    long lBase = ql + 64L * j + ((c & 1) << 5);
                    long hBase = qh + 32L * j;
                    int lowShift = (c >> 1) << 2;
                    int highShift = c << 1;
                    int xo = qo + 32 * chunk;
                    for (int lane = 0; lane < 8; lane++) {
                        int s = 0;
                        for (int k = 0; k < 4; k++) {
                            int i = 4 * lane + k;
                            int lo = (w.get(ValueLayout.JAVA_BYTE, lBase + i) >> lowShift) & 15;
                            int hi = (w.get(ValueLayout.JAVA_BYTE, hBase + i) >> highShift) & 3;
                            s += (lo | (hi << 4)) * q[xo + i];
                        }
                        s *= lane < 4 ? scLo : scHi;
                        switch (lane) {
                            case 0 -> l0 += s;
                            case 1 -> l1 += s;
                            case 2 -> l2 += s;
                            case 3 -> l3 += s;
                            case 4 -> l4 += s;
                            case 5 -> l5 += s;
                            case 6 -> l6 += s;
                            default -> l7 += s;
                        }
                    }
                }
                int bs = xb * 16;
                l0 -= sub(w, sc, bs, 0);
                l1 -= sub(w, sc, bs, 1);
                l2 -= sub(w, sc, bs, 2);
                l3 -= sub(w, sc, bs, 3);
                l4 -= sub(w, sc, bs, 4);
                l5 -= sub(w, sc, bs, 5);
                l6 -= sub(w, sc, bs, 6);
                l7 -= sub(w, sc, bs, 7);
                a0 = Math.fma(dd, (float) l0, a0);
                a1 = Math.fma(dd, (float) l1, a1);
                a2 = Math.fma(dd, (float) l2, a2);
                a3 = Math.fma(dd, (float) l3, a3);
                a4 = Math.fma(dd, (float) l4, a4);
                a5 = Math.fma(dd, (float) l5, a5);
                a6 = Math.fma(dd, (float) l6, a6);
                a7 = Math.fma(dd, (float) l7, a7);
            }
            return LlamaCppMath.hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
        }

        private float dotQ4K(MemorySegment w, long rowBase, int firstBlock, int blocks, boolean gemm) {
            float acc = 0f;
            float accMin = 0f;
            long base = rowBase;
            for (int b = 0; b < blocks; b++, base += Q4_K_BYTES) {
                int xb = firstBlock + b;
                int qo = xb * BLOCK;
                float dx = d[xb];
                float dScale = Float.float16ToFloat(w.get(SHORT_LE, base)) * dx;
                float minScale = Float.float16ToFloat(w.get(SHORT_LE, base + 2)) * dx;
                long sc = base + 4;
                long qs = base + 16;
                int blockSum = 0;
                int blockMin = 0;
                for (int pair = 0; pair < 4; pair++) {
                    int pairSum = 0;
                    int pairMin = 0;
                    for (int h = 0; h < 2; h++) {
                        int sub = 2 * pair + h;
                        int scale;
                        int min;
                        if (sub < 4) {
                            scale = w.get(ValueLayout.JAVA_BYTE, sc + sub) & 63;
                            min = w.get(ValueLayout.JAVA_BYTE, sc + sub + 4) & 63;
                        } else {
                            int qj4 = w.get(ValueLayout.JAVA_BYTE, sc + sub + 4) & 0xFF;
                            scale = (qj4 & 0xF) | (((w.get(ValueLayout.JAVA_BYTE, sc + sub - 4) & 0xFF) >> 6) << 4);
                            min = (qj4 >> 4) | (((w.get(ValueLayout.JAVA_BYTE, sc + sub) & 0xFF) >> 6) << 4);
                        }
                        int shift = 4 * h;
                        long qb = qs + 32L * pair;
                        int xo = qo + 32 * sub;
                        int dot = 0;
                        for (int i = 0; i < 32; i++) {
                            dot += ((w.get(ValueLayout.JAVA_BYTE, qb + i) >> shift) & 15) * q[xo + i];
                        }
                        int bs = xb * 16 + 2 * sub;
                        pairSum += scale * dot;
                        pairMin += min * (bsums[bs] + bsums[bs + 1]);
                    }
                    if (gemm) {
                        acc = Math.fma((float) pairSum, dScale, acc);
                        accMin = Math.fma((float) pairMin, minScale, accMin);
                    } else {
                        blockSum += pairSum;
                        blockMin += pairMin;
                    }
                }
                if (!gemm) {
                    acc = Math.fma((float) blockSum, dScale, acc);
                    accMin = Math.fma((float) blockMin, minScale, accMin);
                }
            }
            return acc - accMin;
        }

        private int sub(MemorySegment w, long sc, int bs, int lane) {
            int s0 = w.get(ValueLayout.JAVA_BYTE, sc + 2 * lane);
            int s1 = w.get(ValueLayout.JAVA_BYTE, sc + 2 * lane + 1);
            return (bsums[bs + 2 * lane] * s0 + bsums[bs + 2 * lane + 1] * s1) << 5;
        }
    }
}
