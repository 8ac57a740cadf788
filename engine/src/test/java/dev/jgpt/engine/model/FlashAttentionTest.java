package dev.jgpt.engine.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FlashAttention} gives the same bits as its scalar form ({@link FlashAttentionReference}) on each
 * of llama.cpp's three paths: one chunk (short batches), split KV (one query over 512+ cells) and tiled
 * (batches of 64+), at query positions that end tiles whole, partly, or after one cell.
 */
class FlashAttentionTest {
    @ParameterizedTest(name = "headDim {0}, batch {1}, cache {2}")
    @CsvSource({
            "64, 1, 512", "64, 7, 512", "64, 1, 1024", "64, 64, 512", "64, 100, 1024",
            "128, 1, 512", "128, 1, 1024", "128, 64, 512", "32, 1, 512", "32, 64, 512", "48, 64, 512"})
    void matchesScalarReferenceBitForBit(int headDim, int batch, int cacheCells) {
        Random random = new Random(headDim * 31L + batch * 7L + cacheCells);
        int kvDim = 2 * headDim;
        float[] kc = new float[cacheCells * kvDim];
        float[] vc = new float[cacheCells * kvDim];
        for (int i = 0; i < kc.length; i++) {
            kc[i] = LlamaCppMath.roundF16((float) random.nextGaussian() * 2f);
            vc[i] = LlamaCppMath.roundF16((float) random.nextGaussian());
        }
        float[] q = new float[3 * headDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) random.nextGaussian();
        }
        FlashAttention fast = new FlashAttention(headDim, kvDim);
        FlashAttentionReference ref = new FlashAttentionReference(headDim, kvDim);
        float[] out = new float[headDim + 5];
        float[] expected = new float[headDim + 5];
        for (int pos : new int[] {0, 1, 3, 62, 63, 64, 65, 130, 255, 256, 300, cacheCells - 1}) {
            // the tiled kernel also reads keys in tiles (as a prompt's attention gives them), built up to
            // a cell count that is not a whole number of tiles
            float[] tiledKeys = FlashAttention.tileKeys(kc, kvDim, Math.min(cacheCells, pos + 7), null);
            for (int kvOff : new int[] {0, headDim}) {
                ref.attend(q, headDim, kc, vc, kvOff, pos, batch, cacheCells, expected, 5);
                for (float[] keys : new float[][] {null, tiledKeys}) {
                    fast.attend(q, headDim, kc, keys, vc, kvOff, pos, batch, cacheCells, out, 5);
                    for (int d = 0; d < headDim; d++) {
                        assertEquals(Float.floatToRawIntBits(expected[5 + d]), Float.floatToRawIntBits(out[5 + d]),
                                "pos " + pos + " kv offset " + kvOff + (keys == null ? "" : " (keys in tiles)")
                                        + " dim " + d + ": expected " + expected[5 + d] + ", got " + out[5 + d]);
                    }
                }
            }
        }
    }

    /**
     * Two neighbouring queries of a prompt in one pass ({@link FlashAttention#attendPair}) give each the bits
     * of the reference, where the second query's position starts a new tile as well as inside one.
     */
    @ParameterizedTest(name = "headDim {0}, batch {1}")
    @CsvSource({"64, 64", "64, 100", "128, 64", "32, 64", "48, 64", "80, 64", "64, 7", "40, 64"})
    void pairsOfQueriesMatchTheReferenceBitForBit(int headDim, int batch) {
        Random random = new Random(headDim * 17L + batch);
        int kvDim = 2 * headDim;
        int cacheCells = 512;
        float[] kc = new float[cacheCells * kvDim];
        float[] vc = new float[cacheCells * kvDim];
        for (int i = 0; i < kc.length; i++) {
            kc[i] = LlamaCppMath.roundF16((float) random.nextGaussian() * 2f);
            vc[i] = LlamaCppMath.roundF16((float) random.nextGaussian());
        }
        int qDim = 3 * headDim;
        float[] q = new float[2 * qDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) random.nextGaussian();
        }
        FlashAttention fast = new FlashAttention(headDim, kvDim);
        FlashAttentionReference ref = new FlashAttentionReference(headDim, kvDim);
        float[] out = new float[2 * qDim];
        float[] expected = new float[headDim];
        for (int pos : new int[] {0, 1, 62, 63, 64, 127, 128, 200, 255, 300, cacheCells - 2}) {
            float[] tiledKeys = FlashAttention.tileKeys(kc, kvDim, Math.min(cacheCells, pos + 9), null);
            for (int kvOff : new int[] {0, headDim}) {
                java.util.Arrays.fill(out, Float.NaN);
                fast.attendPair(q, headDim, qDim + headDim, kc, tiledKeys, vc, kvOff, pos, batch, cacheCells, out,
                        headDim, qDim + headDim);
                for (int second = 0; second < 2; second++) {
                    ref.attend(q, second * qDim + headDim, kc, vc, kvOff, pos + second, batch, cacheCells, expected,
                            0);
                    for (int d = 0; d < headDim; d++) {
                        assertEquals(Float.floatToRawIntBits(expected[d]),
                                Float.floatToRawIntBits(out[second * qDim + headDim + d]),
                                "pos " + (pos + second) + " kv offset " + kvOff + " dim " + d);
                    }
                }
            }
        }
    }

    /** The vector F16 rounding equals the scalar conversion on a sweep of all float bit patterns. */
    @Test
    void vectorRoundF16MatchesScalarConversion() {
        org.junit.jupiter.api.Assumptions.assumeTrue(VectorWidth.BITS >= 512, "needs 512-bit vectors");
        float[] in = new float[16];
        float[] out = new float[16];
        int filled = 0;
        // every 97th bit pattern, plus the neighbourhoods of the half boundaries
        for (long b = Integer.MIN_VALUE; b <= Integer.MAX_VALUE; b += 97) {
            in[filled++] = Float.intBitsToFloat((int) b);
            if (filled == 16) {
                check(in, out);
                filled = 0;
            }
        }
        for (float edge : new float[] {65504f, 65520f, 0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.8p-24f}) {
            for (int sign : new int[] {1, -1}) {
                int base = Float.floatToRawIntBits(sign * edge);
                for (int i = 0; i < 16; i++) {
                    in[i] = Float.intBitsToFloat(base + i - 8);
                }
                check(in, out);
            }
        }
    }

    private static void check(float[] in, float[] out) {
        LlamaCppMath.roundF16Lanes(jdk.incubator.vector.FloatVector.fromArray(
                jdk.incubator.vector.FloatVector.SPECIES_512, in, 0)).intoArray(out, 0);
        for (int i = 0; i < 16; i++) {
            float expected = LlamaCppMath.roundF16(in[i]);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(out[i]), "NaN stays NaN");
                continue;
            }
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[i]),
                    "0x" + Integer.toHexString(Float.floatToRawIntBits(in[i])));
        }
    }
}
