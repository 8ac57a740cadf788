package dev.jgpt.engine.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link LogProbabilities#argmax} picks the same index as its scalar reference. */
class LogProbabilitiesTest {
    @Test
    void vectorArgmaxMatchesScalarReference() {
        Random random = new Random(11);
        float[] specials = {Float.NaN, 0f, -0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 3f};
        for (int trial = 0; trial < 4000; trial++) {
            int n = 1 + random.nextInt(trial < 2000 ? 80 : 40000);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                // few distinct values (ties), and sometimes NaN, infinities and signed zeros
                v[i] = random.nextInt(8) == 0 ? specials[random.nextInt(specials.length)] : random.nextInt(5) - 3f;
            }
            assertEquals(LogProbabilities.argmaxScalar(v), LogProbabilities.argmax(v), "trial " + trial);
        }
    }

    @Test
    void edgeCases() {
        assertEquals(0, LogProbabilities.argmax(new float[0]));
        assertEquals(0, LogProbabilities.argmax(new float[] {Float.NaN, 5f, 7f}));
        assertEquals(2, LogProbabilities.argmax(new float[] {1f, Float.NaN, 7f, 7f}));
        assertEquals(0, LogProbabilities.argmax(new float[] {-0f, 0f}));
        float[] lastWins = new float[1000];
        lastWins[999] = 1f;
        assertEquals(999, LogProbabilities.argmax(lastWins));
        float[] allNegativeInfinity = new float[33];
        java.util.Arrays.fill(allNegativeInfinity, Float.NEGATIVE_INFINITY);
        assertEquals(0, LogProbabilities.argmax(allNegativeInfinity));
    }
}
