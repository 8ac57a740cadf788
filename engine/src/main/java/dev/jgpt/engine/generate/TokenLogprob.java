package dev.jgpt.engine.generate;

import java.util.List;

/**
 * A generated token with its log-probability under the model (log-softmax of the raw logits, before
 * sampling settings or constraints change them) and the most likely alternatives at that step.
 *
 * @param top the {@code topLogprobs} most likely tokens at that step, best first (empty if none asked)
 */
public record TokenLogprob(int token, float logprob, List<Candidate> top) {
    public TokenLogprob {
        top = List.copyOf(top);
    }

    /** One alternative token and its log-probability. */
    public record Candidate(int token, float logprob) {
    }
}
