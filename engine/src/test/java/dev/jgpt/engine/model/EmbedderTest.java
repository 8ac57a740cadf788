package dev.jgpt.engine.model;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.generate.PromptLogprobs;
import dev.jgpt.engine.generate.TokenLogprob;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hidden states, embeddings and prompt log-probabilities checked against the ordinary forward pass. */
class EmbedderTest {
    static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(SharedData.model("tiny-qwen3-q8_0.gguf"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** More tokens than one forward chunk, so several passes feed the visitor. */
    static int[] longPrompt() {
        return model.tokenizer().encode("The quick brown fox jumps over the lazy dog. ".repeat(8), true, false);
    }

    @Test
    void lastHiddenStateTimesTheOutputMatrixGivesTheForwardPassLogits() {
        int[] tokens = longPrompt();
        assertTrue(tokens.length > 64, "the prompt spans several chunks: " + tokens.length);
        Transformer t = model.transformer();
        int dim = t.config().dim();
        float[] last = new float[dim];
        int[] visits = {0};
        new HiddenStates(t).forEach(tokens, (position, h) -> {
            assertEquals(visits[0]++, position);
            System.arraycopy(h, 0, last, 0, dim);
        });
        assertEquals(tokens.length, visits[0]);

        int vocab = t.config().vocabSize();
        float[] logits = new float[vocab];
        // The forward pass multiplies the Q8_0 output matrix by Q8_0-quantized activations; do the same.
        assertTrue(Q8_0Activations.handles(t.weights().output().type()));
        Q8_0Activations q8 = new Q8_0Activations();
        q8.quantize(last, dim);
        q8.matmul(t.weights().output(), 1, logits, vocab, dim);
        InferenceState s = t.newState(tokens.length);
        t.forward(s, tokens, 0, tokens.length);
        assertArrayEquals(s.logits(), logits);
    }

    @Test
    void embeddingsAreUnitLengthDeterministicAndDependOnTheText() {
        Embedder e = new Embedder(model.transformer());
        assertEquals(256, e.dimension());
        float[] a = e.embed(model.tokenizer().encode("hello world", true, false));
        float[] again = e.embed(model.tokenizer().encode("hello world", true, false));
        float[] b = e.embed(model.tokenizer().encode("a cat sat on the mat", true, false));
        assertEquals(256, a.length);
        assertEquals(1.0, norm(a), 1e-5);
        assertEquals(1.0, norm(b), 1e-5);
        assertArrayEquals(a, again);
        double cosine = 0;
        for (int i = 0; i < a.length; i++) {
            cosine += a[i] * b[i];
        }
        assertTrue(cosine < 0.9999, "different texts give different vectors: cosine " + cosine);
    }

    @Test
    void embeddingIsTheNormalizedMeanOfTheHiddenStates() {
        int[] tokens = model.tokenizer().encode("one two three four", true, false);
        double[] sum = new double[256];
        new HiddenStates(model.transformer()).forEach(tokens, (p, h) -> {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += h[i];
            }
        });
        double n = 0;
        for (double v : sum) {
            n += v * v;
        }
        float[] e = new Embedder(model.transformer()).embed(tokens);
        for (int i = 0; i < sum.length; i++) {
            assertEquals(sum[i] / Math.sqrt(n), e[i], 1e-5);
        }
    }

    @Test
    void tooManyTokensOrNoneAreRefusedClearly() {
        Embedder e = new Embedder(model.transformer());
        int[] tooMany = new int[model.config().contextLength() + 1];
        assertThrows(ContextOverflowException.class, () -> e.embed(tooMany));
        assertThrows(IllegalArgumentException.class, () -> e.embed(new int[0]));
    }

    @Test
    void promptLogprobsMatchTheNextTokenDistributionOfEachPrefix() {
        int[] tokens = model.tokenizer().encode("The cat sat on the mat", true, false);
        List<TokenLogprob> lps = new PromptLogprobs(model.transformer()).of(tokens, 3);
        assertEquals(tokens.length - 1, lps.size());
        Transformer t = model.transformer();
        for (int i = 1; i < tokens.length; i++) {
            InferenceState s = t.newState(tokens.length);
            t.forward(s, tokens, 0, i);
            float[] logSoftmax = LogProbabilities.logSoftmax(s.logits());
            TokenLogprob lp = lps.get(i - 1);
            assertEquals(tokens[i], lp.token());
            // Same kernels and activation quantization as the forward pass: equal bit for bit.
            assertEquals(logSoftmax[tokens[i]], lp.logprob(), 0);
            assertEquals(3, lp.top().size());
            assertEquals(LogProbabilities.argmax(logSoftmax), lp.top().getFirst().token());
            assertTrue(lp.top().get(0).logprob() >= lp.top().get(1).logprob());
        }
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }
}
