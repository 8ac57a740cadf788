package dev.jgpt.engine.generate;

import dev.jgpt.engine.sampling.SamplingParams;

import java.util.List;

/**
 * What to generate after a prompt: how to sample, how many tokens at most, and which strings end the
 * answer (they are not part of it).
 */
public record GenerationRequest(SamplingParams sampling, int maxTokens, List<String> stop) {
    public GenerationRequest {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be 0 or more, got " + maxTokens);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
    }
}
