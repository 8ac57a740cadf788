package dev.jgpt.engine.generate;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratorTest {
    private static Model model;
    private static Generator generator;

    @BeforeAll
    static void load() {
        model = Model.load(SharedData.model("tiny-qwen3-q8_0.gguf"));
        generator = new Generator(model.transformer(), model.tokenizer());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static int[] prompt(String text) {
        return model.tokenizer().encode(text, true, true);
    }

    @Test
    void streamsExactlyTheReturnedTextAndStopsAtMaxTokens() {
        List<String> pieces = new ArrayList<>();
        GenerationResult r = generator.generate(generator.newSequence(256), prompt("Once upon a time"),
                new GenerationRequest(SamplingParams.greedy(), 10, List.of()), pieces::add);
        assertEquals(String.join("", pieces), r.text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertTrue(r.completionTokens() <= 10 && r.completionTokens() > 0);
    }

    @Test
    void greedyGenerationIsDeterministic() {
        GenerationRequest req = new GenerationRequest(SamplingParams.greedy(), 12, List.of());
        String a = generator.generate(generator.newSequence(256), prompt("Hello"), req, s -> { }).text();
        String b = generator.generate(generator.newSequence(256), prompt("Hello"), req, s -> { }).text();
        assertEquals(a, b);
    }

    @Test
    void stopStringEndsTheAnswerAndIsNotIncluded() {
        GenerationRequest free = new GenerationRequest(SamplingParams.greedy(), 20, List.of());
        String text = generator.generate(generator.newSequence(256), prompt("Hello"), free, s -> { }).text();
        assertTrue(text.length() > 3, "needs some text to cut: " + text);
        String stop = text.substring(2, 4);
        GenerationResult cut = generator.generate(generator.newSequence(256), prompt("Hello"),
                new GenerationRequest(SamplingParams.greedy(), 20, List.of(stop)), s -> { });
        assertEquals(FinishReason.STOP, cut.finishReason());
        assertEquals(text.substring(0, text.indexOf(stop)), cut.text());
        assertFalse(cut.text().contains(stop));
    }

    @Test
    void nextTurnReusesTheCachedPrefix() {
        Generator.Sequence seq = generator.newSequence(256);
        int[] first = prompt("The first turn of a conversation");
        generator.generate(seq, first, new GenerationRequest(SamplingParams.greedy(), 4, List.of()), s -> { });
        int[] second = prompt("The first turn of a conversation, and then more");
        GenerationResult r = generator.generate(seq, second,
                new GenerationRequest(SamplingParams.greedy(), 4, List.of()), s -> { });
        int common = 0;
        while (common < first.length && first[common] == second[common]) {
            common++;
        }
        assertEquals(common, r.cachedTokens());
        assertTrue(r.cachedTokens() > 3);

        // The cached answer equals a fresh computation of the same prompt.
        GenerationResult fresh = generator.generate(generator.newSequence(256), second,
                new GenerationRequest(SamplingParams.greedy(), 4, List.of()), s -> { });
        assertEquals(fresh.text(), r.text());
    }

    @Test
    void promptThatFillsTheContextIsRefusedBeforeComputing() {
        Generator.Sequence seq = generator.newSequence(16);
        int[] tooLong = prompt("word ".repeat(40));
        ContextOverflowException e = assertThrows(ContextOverflowException.class, () -> generator.generate(seq,
                tooLong, new GenerationRequest(SamplingParams.greedy(), 4, List.of()), s -> { }));
        assertTrue(e.getMessage().contains("context"));
        assertEquals(0, seq.length(), "nothing was computed");
    }

    @Test
    void contextFullEndsWithLength() {
        Generator.Sequence seq = generator.newSequence(24);
        GenerationResult r = generator.generate(seq, prompt("Hi"),
                new GenerationRequest(SamplingParams.greedy(), 1000, List.of()), s -> { });
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertTrue(seq.length() <= 24);
    }

    @Test
    void logprobsDescribeEachGeneratedTokenAndMatchGreedyChoice() {
        Generator.Sequence seq = generator.newSequence(128);
        GenerationResult r = generator.generate(seq, prompt("Once upon"),
                new GenerationRequest(SamplingParams.greedy(), 6, List.of(), null, 3), s -> { });
        assertEquals(r.completionTokens(), r.logprobs().size());
        for (TokenLogprob lp : r.logprobs()) {
            assertEquals(3, lp.top().size());
            assertEquals(lp.token(), lp.top().get(0).token(), "greedy picks the most likely token");
            assertEquals(lp.logprob(), lp.top().get(0).logprob());
            assertTrue(lp.logprob() <= 0f);
            assertTrue(lp.top().get(0).logprob() >= lp.top().get(1).logprob());
        }
        GenerationResult none = generator.generate(generator.newSequence(128), prompt("Once upon"),
                new GenerationRequest(SamplingParams.greedy(), 6, List.of()), s -> { });
        assertTrue(none.logprobs().isEmpty());
    }

    @Test
    void constraintDecidesTokensAndCompletion() {
        int vocab = model.tokenizer().vocabSize();
        // allow only tokens 300..302, in a fixed order, then complete after three
        int[] seen = new int[3];
        TokenConstraint constraint = new TokenConstraint() {
            int count;

            @Override
            public void maskLogits(float[] logits) {
                for (int i = 0; i < vocab; i++) {
                    if (i != 300 + count) {
                        logits[i] = Float.NEGATIVE_INFINITY;
                    }
                }
            }

            @Override
            public void accept(int token) {
                seen[count++] = token;
            }

            @Override
            public boolean isComplete() {
                return count == 3;
            }
        };
        GenerationResult r = generator.generate(generator.newSequence(128), prompt("Hello"),
                new GenerationRequest(SamplingParams.greedy(), 50, List.of(), constraint, -1), s -> { });
        assertEquals(3, r.completionTokens());
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(List.of(300, 301, 302), List.of(seen[0], seen[1], seen[2]));
    }
}
