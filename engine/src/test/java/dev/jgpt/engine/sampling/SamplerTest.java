package dev.jgpt.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, 2.5f, -1f, 0f, 2.9f};

    private static int[] draw(SamplingParams params, int times) {
        Sampler s = new Sampler(params, LOGITS.length);
        int[] out = new int[times];
        for (int i = 0; i < times; i++) {
            out[i] = s.sample(LOGITS.clone());
        }
        return out;
    }

    @Test
    void greedyTakesTheLargestLogit() {
        assertEquals(1, new Sampler(SamplingParams.greedy(), 6).sample(LOGITS.clone()));
    }

    @Test
    void topKOfOneIsGreedy() {
        for (int t : draw(SamplingParams.defaults().withTopK(1).withTemperature(2f), 50)) {
            assertEquals(1, t);
        }
    }

    @Test
    void sameSeedGivesSameTokensAndOtherSeedsDiffer() {
        SamplingParams p = SamplingParams.defaults().withTemperature(1.5f).withTopK(0).withTopP(1f).withMinP(0f);
        assertArrayEquals(draw(p.withSeed(42), 200), draw(p.withSeed(42), 200));
        assertNotEquals(java.util.Arrays.toString(draw(p.withSeed(42), 200)),
                java.util.Arrays.toString(draw(p.withSeed(43), 200)));
    }

    @Test
    void temperatureOneFollowsTheSoftmax() {
        SamplingParams p = SamplingParams.defaults().withTemperature(1f).withTopK(0).withTopP(1f).withMinP(0f)
                .withSeed(7);
        int n = 60_000;
        int[] hist = new int[LOGITS.length];
        for (int t : draw(p, n)) {
            hist[t]++;
        }
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double expected = Math.exp(LOGITS[i]) / z;
            assertEquals(expected, hist[i] / (double) n, 0.01, "token " + i);
        }
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // Probabilities at T=1: token 1 ≈ 0.36, 5 ≈ 0.33, 2 ≈ 0.22 → top-p 0.5 keeps tokens 1 and 5.
        SamplingParams p = SamplingParams.defaults().withTemperature(1f).withTopK(0).withTopP(0.5f).withMinP(0f)
                .withSeed(1);
        for (int t : draw(p, 500)) {
            assertTrue(t == 1 || t == 5, "token " + t);
        }
    }

    @Test
    void minPDropsTokensFarBelowTheBest() {
        // min-p 0.5: keep tokens with p >= 0.5 * p(best): logits within ln 2 of the best: 1, 5, 2.
        SamplingParams p = SamplingParams.defaults().withTemperature(1f).withTopK(0).withTopP(1f).withMinP(0.5f)
                .withSeed(3);
        for (int t : draw(p, 500)) {
            assertTrue(t == 1 || t == 5 || t == 2, "token " + t);
        }
    }

    @Test
    void logitBiasCanForceOrForbidATokens() {
        SamplingParams forced = SamplingParams.greedy().withLogitBias(Map.of(3, 100f));
        assertEquals(3, new Sampler(forced, 6).sample(LOGITS.clone()));
        SamplingParams banned = SamplingParams.greedy().withLogitBias(Map.of(1, -100f));
        assertEquals(5, new Sampler(banned, 6).sample(LOGITS.clone()));
    }

    @Test
    void penaltiesLowerRecentTokens() {
        Sampler repeat = new Sampler(SamplingParams.greedy().withPenalties(1.5f, 64, 0f, 0f), 6);
        repeat.accept(1);
        assertEquals(5, repeat.sample(LOGITS.clone()), "3/1.5 = 2 is now below 2.9");

        Sampler presence = new Sampler(SamplingParams.greedy().withPenalties(1f, 64, 0f, 0.2f), 6);
        presence.accept(1);
        assertEquals(5, presence.sample(LOGITS.clone()), "3 - 0.2 = 2.8 < 2.9");

        Sampler frequency = new Sampler(SamplingParams.greedy().withPenalties(1f, 64, 0.06f, 0f), 6);
        frequency.accept(1);
        assertEquals(1, frequency.sample(LOGITS.clone()), "one occurrence: 3 - 0.06 > 2.9");
        frequency.accept(1);
        assertEquals(5, frequency.sample(LOGITS.clone()), "two occurrences: 3 - 0.12 < 2.9");
    }

    @Test
    void penaltyWindowForgetsOldTokens() {
        Sampler s = new Sampler(SamplingParams.greedy().withPenalties(1.5f, 2, 0f, 0f), 6);
        s.accept(1);
        s.accept(4);
        s.accept(4);
        assertEquals(1, s.sample(LOGITS.clone()), "token 1 left the 2-token window");
    }

    @Test
    void topKKeepsExactlyTheKBestOfALargeVocabulary() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(9);
        float[] logits = new float[5000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        java.util.Set<Integer> best = java.util.Set.of(order[0], order[1], order[2], order[3], order[4]);
        Sampler s = new Sampler(SamplingParams.defaults().withTopK(5).withTopP(1f).withMinP(0f).withTemperature(5f)
                .withSeed(2), logits.length);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 2000; i++) {
            int t = s.sample(logits.clone());
            assertTrue(best.contains(t), "token " + t + " is not among the 5 best");
            seen.add(t);
        }
        assertEquals(best, seen, "at a high temperature all five get drawn");
    }

    @Test
    void invalidParametersAreRefusedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SamplingParams.defaults().withTopP(1.5f));
        assertTrue(e.getMessage().contains("top_p"));
    }
}
