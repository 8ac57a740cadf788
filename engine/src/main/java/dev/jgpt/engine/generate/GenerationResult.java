package dev.jgpt.engine.generate;

import java.util.List;

/**
 * The outcome of one generation, with its token counts and timings.
 *
 * @param promptTokens      tokens of the prompt
 * @param cachedTokens      of those, how many were already in the cache (a conversation's earlier turns)
 * @param completionTokens  tokens generated
 * @param logprobs          one entry per generated token when the request asked for log-probabilities,
 *                          otherwise empty
 */
public record GenerationResult(
        String text,
        FinishReason finishReason,
        int promptTokens,
        int cachedTokens,
        int completionTokens,
        long promptNanos,
        long generationNanos,
        List<TokenLogprob> logprobs) {

    public GenerationResult {
        logprobs = List.copyOf(logprobs);
    }

    public GenerationResult(String text, FinishReason finishReason, int promptTokens, int cachedTokens,
                            int completionTokens, long promptNanos, long generationNanos) {
        this(text, finishReason, promptTokens, cachedTokens, completionTokens, promptNanos, generationNanos,
                List.of());
    }

    /** Prompt tokens evaluated per second (those not taken from the cache). */
    public double promptTokensPerSecond() {
        int evaluated = promptTokens - cachedTokens;
        return promptNanos == 0 ? 0 : evaluated * 1e9 / promptNanos;
    }

    /** Generated tokens per second, after the first token. */
    public double generationTokensPerSecond() {
        return generationNanos == 0 ? 0 : completionTokens * 1e9 / generationNanos;
    }
}
