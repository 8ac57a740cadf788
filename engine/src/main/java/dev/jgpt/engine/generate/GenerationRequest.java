package dev.jgpt.engine.generate;

import dev.jgpt.engine.sampling.SamplingParams;

import java.util.List;

/**
 * What to generate after a prompt: how to sample, how many tokens at most, and which strings end the
 * answer (they are not part of it).
 *
 * @param constraint  restricts the tokens that may come next (e.g. JSON schema), or null
 * @param topLogprobs -1 to report no log-probabilities; 0..20 to report each token's log-probability and
 *                    that many most likely alternatives
 */
public record GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop,
                                TokenConstraint constraint, int topLogprobs) {
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
    }

    public GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop) {
        this(sampling, maxTokens, stop, null, -1);
    }

    public boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }
}
