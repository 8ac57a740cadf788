package dev.jgpt.engine.generate;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link GenerationRequest#onLogprob()}: each token's log-probabilities arrive before the text it makes. */
class LogprobStreamTest {
    @Test
    void logprobsAreHandedOverInOrderBeforeTheirText() {
        try (Model model = Model.load(SharedData.model("tiny-qwen3-q8_0.gguf"))) {
            Generator generator = new Generator(model.transformer(), model.tokenizer());
            List<TokenLogprob> streamed = new ArrayList<>();
            List<Integer> logprobsBeforeEachPiece = new ArrayList<>();
            GenerationRequest request = new GenerationRequest(SamplingParams.greedy(), 12, List.of(), null, 2,
                    streamed::add);
            GenerationResult r = generator.generate(generator.newSequence(128),
                    model.tokenizer().encode("Once upon a time", true, true), request,
                    piece -> logprobsBeforeEachPiece.add(streamed.size()));
            assertEquals(r.logprobs(), streamed);
            assertEquals(r.completionTokens(), streamed.size());
            for (int i = 0; i < logprobsBeforeEachPiece.size(); i++) {
                assertTrue(logprobsBeforeEachPiece.get(i) >= i + 1, "piece " + i + " came before its token's logprob");
            }
        }
    }
}
