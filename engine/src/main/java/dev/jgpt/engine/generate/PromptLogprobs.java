package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.HiddenStates;
import dev.jgpt.engine.model.LogProbabilities;
import dev.jgpt.engine.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/**
 * How likely the model finds each token of a given text after the ones before it (what OpenAI's
 * {@code echo} with {@code logprobs} reports for a prompt), with the forward pass's own numerics.
 * Not thread-safe: one instance per thread.
 */
public final class PromptLogprobs {
    private final Transformer transformer;
    private final HiddenStates hiddenStates;

    public PromptLogprobs(Transformer transformer) {
        this.transformer = transformer;
        this.hiddenStates = new HiddenStates(transformer);
    }

    /**
     * One entry for each token after the first ({@code tokens[1..]}), with its log-probability given the
     * tokens before it and the {@code top} most likely tokens at that position; the first token has none.
     */
    public List<TokenLogprob> of(int[] tokens, int top) {
        if (top < 0 || top > GenerationRequest.MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("top must be between 0 and " + GenerationRequest.MAX_TOP_LOGPROBS
                    + ", got " + top);
        }
        float[] logits = new float[transformer.config().vocabSize()];
        List<TokenLogprob> out = new ArrayList<>(Math.max(0, tokens.length - 1));
        hiddenStates.forEach(tokens, (position, h) -> {
            if (position + 1 < tokens.length) {
                hiddenStates.logits(h, logits);
                out.add(TokenLogprob.of(tokens[position + 1], LogProbabilities.logSoftmax(logits), top));
            }
        });
        return out;
    }
}
