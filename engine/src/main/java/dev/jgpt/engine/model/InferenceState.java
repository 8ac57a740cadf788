package dev.jgpt.engine.model;

/**
 * One sequence's state: its key/value cache, how many positions it holds, and the logits of the last
 * token evaluated. Scratch space for the computation lives apart, in a {@link ForwardBatch}, so a pool of
 * sequences costs only their caches and one batch serves them all; a state used on its own through
 * {@link Transformer#forward(InferenceState, int[], int, int)} makes itself a small batch on first use.
 */
public final class InferenceState {
    final ModelConfig config;
    final int capacity;

    /** Keys and values per layer, position-major: {@code [pos * kvDim + head * headDim + d]}. */
    final float[][] keyCache;
    final float[][] valueCache;
    final float[] logits;

    private int position;
    /** Scratch for single-sequence forward passes, made when first needed. */
    private ForwardBatch ownBatch;

    InferenceState(ModelConfig c, int capacity) {
        this.config = c;
        this.capacity = capacity;
        keyCache = new float[c.layers()][capacity * c.kvDim()];
        valueCache = new float[c.layers()][capacity * c.valueDim()];
        logits = new float[c.vocabSize()];
    }

    /** Number of positions in the cache (tokens already processed). */
    public int position() {
        return position;
    }

    /** Maximum number of positions (the context size this state was made for). */
    public int capacity() {
        return capacity;
    }

    /** Forgets positions from {@code newPosition} on, e.g. to reuse a shared prefix or to undo a token. */
    public void truncate(int newPosition) {
        if (newPosition < 0 || newPosition > position) {
            throw new IllegalArgumentException("cannot truncate to " + newPosition + ", state holds " + position);
        }
        position = newPosition;
    }

    void advance(int n) {
        position += n;
    }

    /** Logits of the last processed token (valid after a forward pass that asked for them). */
    public float[] logits() {
        return logits;
    }

    /** This sequence's own one-segment batch of up to {@code maxChunk} tokens. */
    ForwardBatch ownBatch(int maxChunk) {
        if (ownBatch == null) {
            ownBatch = new ForwardBatch(config, maxChunk, 1);
        }
        return ownBatch;
    }
}
