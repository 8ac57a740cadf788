package dev.jgpt.engine.model;

/** More tokens than the context holds: raised before any computation is spent on them. */
public final class ContextOverflowException extends RuntimeException {
    private final int requested;
    private final int capacity;

    public ContextOverflowException(int requested, int capacity) {
        super("the prompt and answer need " + requested + " tokens but the context holds " + capacity
                + " tokens; shorten the prompt or use a larger context");
        this.requested = requested;
        this.capacity = capacity;
    }

    public int requested() {
        return requested;
    }

    public int capacity() {
        return capacity;
    }
}
