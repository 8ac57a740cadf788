package dev.jgpt.engine.model;

import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A forward pass over several sequences at once gives each the logits it gets alone: exactly for Q8_0
 * (activations are quantized per row, products are per row), within float noise for Q4_K, whose llama.cpp
 * kernel choice depends on how many rows are stacked.
 */
class BatchedForwardTest {
    private static final int[][] PROMPTS = {
            {1, 450, 4996, 17354, 1701, 432, 17204, 975, 278, 17366, 11203},
            {1, 15043},
            {1, 29871, 31999, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500},
    };
    private static final int STEPS = 6;

    /** Logits after the prompt and after each greedy step, each sequence run on its own. */
    private static List<List<float[]>> alone(Transformer tf) {
        List<List<float[]>> all = new ArrayList<>();
        for (int[] prompt : PROMPTS) {
            List<float[]> steps = new ArrayList<>();
            InferenceState s = tf.newState(128);
            tf.forward(s, prompt, 0, prompt.length);
            steps.add(s.logits().clone());
            int[] one = new int[1];
            for (int i = 0; i < STEPS; i++) {
                one[0] = LogProbabilities.argmax(s.logits());
                tf.forward(s, one, 0, 1);
                steps.add(s.logits().clone());
            }
            all.add(steps);
        }
        return all;
    }

    /**
     * The same in shared passes: the first sequence prefills in the first pass, the second joins in the
     * second pass while the first decodes, the third prefills in two chunks while both others decode.
     */
    private static List<List<float[]>> batched(Transformer tf) {
        int n = PROMPTS.length;
        InferenceState[] states = new InferenceState[n];
        int[] prefilled = new int[n];
        int[] next = new int[n];
        int[] joinsAt = {0, 1, 2};
        List<List<float[]>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            states[i] = tf.newState(128);
            all.add(new ArrayList<>());
        }
        ForwardBatch batch = tf.newBatch(64, n);
        int[] one = new int[1];
        for (int pass = 0; all.stream().anyMatch(l -> l.size() < STEPS + 1); pass++) {
            for (int i = 0; i < n; i++) {
                int[] p = PROMPTS[i];
                if (pass < joinsAt[i] || all.get(i).size() == STEPS + 1) {
                    continue;
                }
                if (prefilled[i] < p.length) {
                    int chunk = i == 2 ? Math.min(10, p.length - prefilled[i]) : p.length;
                    batch.add(states[i], p, prefilled[i], chunk, Transformer.llamaBatchTokens(p.length, prefilled[i]),
                            prefilled[i] + chunk == p.length);
                    prefilled[i] += chunk;
                } else {
                    one[0] = next[i];
                    batch.add(states[i], one, 0, 1, 1, true);
                }
            }
            List<Integer> withLogits = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (pass >= joinsAt[i] && all.get(i).size() < STEPS + 1 && prefilled[i] == PROMPTS[i].length) {
                    withLogits.add(i);
                }
            }
            tf.forward(batch);
            assertTrue(batch.isEmpty(), "a forward pass empties its batch");
            for (int i : withLogits) {
                all.get(i).add(states[i].logits().clone());
                next[i] = LogProbabilities.argmax(states[i].logits());
            }
        }
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-llama-q8_0", "tiny-qwen3-q8_0"})
    void q8_0SequencesInOnePassMatchThemAloneExactly(String name) {
        try (Model m = Model.load(SharedData.model(name + ".gguf"))) {
            List<List<float[]>> a = alone(m.transformer());
            List<List<float[]>> b = batched(m.transformer());
            for (int i = 0; i < a.size(); i++) {
                for (int step = 0; step <= STEPS; step++) {
                    assertArrayEquals(a.get(i).get(step), b.get(i).get(step), name + " sequence " + i + " step " + step);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-llama-q4_k_m", "tiny-qwen2-q4_k_m", "tiny-qwen3-f16"})
    void otherTypesInOnePassMatchThemAloneWithinFloatNoise(String name) {
        try (Model m = Model.load(SharedData.model(name + ".gguf"))) {
            List<List<float[]>> a = alone(m.transformer());
            List<List<float[]>> b = batched(m.transformer());
            for (int i = 0; i < a.size(); i++) {
                for (int step = 0; step <= STEPS; step++) {
                    float[] x = a.get(i).get(step);
                    float[] y = b.get(i).get(step);
                    double maxDiff = 0;
                    for (int t = 0; t < x.length; t++) {
                        maxDiff = Math.max(maxDiff, Math.abs(x[t] - y[t]));
                    }
                    assertTrue(maxDiff < 0.02, name + " sequence " + i + " step " + step + ": max logit difference "
                            + maxDiff);
                }
            }
        }
    }

    @Test
    void aBatchRefusesWhatItCannotHold() {
        try (Model m = Model.load(SharedData.model("tiny-llama-q8_0.gguf"))) {
            Transformer tf = m.transformer();
            ForwardBatch batch = tf.newBatch(4, 2);
            InferenceState s = tf.newState(8);
            int[] tokens = {1, 2, 3, 4, 5};
            assertThrows(IllegalArgumentException.class, () -> batch.add(s, tokens, 0, 5, 5, true), "too many tokens");
            batch.add(s, tokens, 0, 2, 2, true);
            assertThrows(IllegalArgumentException.class, () -> batch.add(s, tokens, 2, 1, 1, true), "same sequence twice");
            InferenceState small = tf.newState(1);
            assertThrows(ContextOverflowException.class, () -> batch.add(small, tokens, 0, 2, 2, true));
            assertThrows(IllegalArgumentException.class, () -> batch.add(tf.newState(8), new int[] {-1}, 0, 1, 1, true));
            tf.forward(batch);
            assertEquals(2, s.position());
        }
    }
}
