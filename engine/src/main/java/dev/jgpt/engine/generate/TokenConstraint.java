package dev.jgpt.engine.generate;

/**
 * Restricts which tokens may come next, e.g. so that the output always parses as JSON that validates
 * against a schema (constrained decoding). A constraint holds the state of one generation: the generator
 * calls {@link #maskLogits} before every sampling step and {@link #accept} with the token it chose.
 */
public interface TokenConstraint {

    /**
     * Sets the logits of every token that may not come next to negative infinity. End-of-generation tokens
     * must stay allowed exactly when {@link #isComplete()} is true, and at least one token must stay
     * allowed.
     */
    void maskLogits(float[] logits);

    /** Records the token that was generated (one the last mask allowed). */
    void accept(int token);

    /** True when the output so far is complete: generation ends here without waiting for an end token. */
    boolean isComplete();
}
