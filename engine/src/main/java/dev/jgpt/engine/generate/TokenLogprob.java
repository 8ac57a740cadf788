package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.LogProbabilities;

import java.util.ArrayList;
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

    /**
     * The entry for {@code token} at a step whose log-softmax over the vocabulary is {@code logSoftmax}, with
     * that step's {@code top} most likely tokens.
     */
    public static TokenLogprob of(int token, float[] logSoftmax, int top) {
        List<Candidate> candidates = new ArrayList<>(top);
        for (int id : LogProbabilities.topK(logSoftmax, top)) {
            candidates.add(new Candidate(id, logSoftmax[id]));
        }
        return new TokenLogprob(token, logSoftmax[token], candidates);
    }

    /** One alternative token and its log-probability. */
    public record Candidate(int token, float logprob) {
    }
}
