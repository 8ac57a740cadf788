package dev.jgpt.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The vectorised expf, SiLU and F16 rounding give the same bits as their scalar replicas of ggml's. */
class LlamaCppMathTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void vectorExpMatchesScalarBitForBit() {
        SplittableRandom random = new SplittableRandom(7);
        float[] x = new float[1 << 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 4) {
                case 0 -> (float) random.nextDouble(-20, 20);
                case 1 -> (float) random.nextDouble(-150, 100); // subnormal results and overflow
                case 2 -> Float.intBitsToFloat(random.nextInt()); // anything, NaN and infinities included
                default -> (float) random.nextGaussian();
            };
        }
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 88.7f, 88.8f,
                -87.3f, -103.9f, -104f, 133.1f, -133.1f, 200f, -200f, Float.MIN_VALUE, Float.MAX_VALUE};
        System.arraycopy(special, 0, x, 0, special.length);
        float[] out = new float[F.length()];
        for (int i = 0; i < x.length; i += F.length()) {
            LlamaCppMath.vExpf(FloatVector.fromArray(F, x, i)).intoArray(out, 0);
            for (int l = 0; l < F.length(); l++) {
                float in = x[i + l];
                float expected = LlamaCppMath.vExpf(in);
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(out[l]), () -> "expf(" + in + ")");
            }
        }
    }

    @Test
    void vectorSiluTimesMatchesScalarBitForBit() {
        SplittableRandom random = new SplittableRandom(11);
        int n = 1000 + 3; // a tail that is not a whole vector
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (random.nextGaussian() * (i % 7 == 0 ? 40 : 3));
            up[i] = (float) random.nextGaussian();
        }
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = LlamaCppMath.silu(gate[i]) * up[i];
        }
        LlamaCppMath.siluTimes(gate, up, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(gate[i]), "element " + i);
        }
    }

    @Test
    void roundingAnArrayMatchesScalarRounding() {
        // whole vectors and a scalar tail, at offsets into both arrays, over normal, subnormal and huge values
        SplittableRandom random = new SplittableRandom(9);
        float[] src = new float[203];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-30, 20)));
        }
        float[] dst = new float[src.length + 5];
        LlamaCppMath.roundF16Into(src, 3, dst, 5, 197);
        for (int i = 0; i < 197; i++) {
            assertEquals(Float.floatToIntBits(LlamaCppMath.roundF16(src[3 + i])), Float.floatToIntBits(dst[5 + i]),
                    "value " + i + ": " + src[3 + i]);
        }
        assertEquals(0f, dst[4]);
    }

    @Test
    void roundingALongArrayGoesChunkByChunk() {
        // more than two chunks of halves, the last one partial, at offsets into both arrays
        SplittableRandom random = new SplittableRandom(10);
        int len = 2 * LlamaCppMath.ROUND_CHUNK + 123;
        float[] src = new float[len + 7];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-30, 20)));
        }
        float[] dst = new float[len + 9];
        LlamaCppMath.roundF16Into(src, 7, dst, 2, len);
        for (int i = 0; i < len; i++) {
            assertEquals(Float.floatToIntBits(LlamaCppMath.roundF16(src[7 + i])), Float.floatToIntBits(dst[2 + i]),
                    "value " + i + ": " + src[7 + i]);
        }
        assertEquals(0f, dst[1]);
        assertEquals(0f, dst[2 + len]);
    }
}
