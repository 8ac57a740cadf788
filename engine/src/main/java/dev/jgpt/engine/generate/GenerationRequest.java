package dev.jgpt.engine.generate;

import dev.jgpt.engine.sampling.SamplingParams;

import java.util.List;
import java.util.function.Consumer;

/**
 * What to generate after a prompt: how to sample, how many tokens at most, and which strings end the
 * answer (they are not part of it).
 *
 * @param constraint  restricts the tokens that may come next (e.g. JSON schema), or null
 * @param topLogprobs -1 to report no log-probabilities; 0..20 to report each token's log-probability and
 *                    that many most likely alternatives
 * @param onLogprob   receives each generated token's log-probabilities as soon as they are known, before
 *                    the token's text is streamed (so a stream can send them with that text); null for none
 */
public record GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop,
                                TokenConstraint constraint, int topLogprobs, Consumer<TokenLogprob> onLogprob) {
    /** Most alternatives per token that can be asked for (OpenAI's limit). */
    public static final int MAX_TOP_LOGPROBS = 20;

    public GenerationRequest {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be 0 or more, got " + maxTokens);
        }
        if (topLogprobs < -1 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("top logprobs must be between 0 and " + MAX_TOP_LOGPROBS
                    + ", got " + topLogprobs);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        onLogprob = onLogprob == null ? logprob -> { } : onLogprob;
    }

    public GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop, TokenConstraint constraint,
                             int topLogprobs) {
        this(sampling, maxTokens, stop, constraint, topLogprobs, null);
    }

    public GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop) {
        this(sampling, maxTokens, stop, null, -1, null);
    }

    public boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }
}
