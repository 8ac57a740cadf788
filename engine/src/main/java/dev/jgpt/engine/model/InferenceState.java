package dev.jgpt.engine.model;

/**
 * One sequence's state: its key/value cache, how many positions it holds, and scratch buffers for a
 * chunk of up to {@link #maxChunk} tokens. Buffers are allocated once so decoding allocates nothing.
 */
public final class InferenceState {
    final ModelConfig config;
    final int maxChunk;
    final int capacity;

    /** Keys and values per layer, position-major: {@code [pos * kvDim + head * headDim + d]}. */
    final float[][] keyCache;
    final float[][] valueCache;

    final float[] x;
    final float[] xb;
    final float[] q;
    final float[] k;
    final float[] v;
    final float[] attOut;
    final float[] hb;
    final float[] hb2;
    final float[] ropeCos;
    final float[] ropeSin;
    final float[] logits;
    /** Activations as llama.cpp rounds them before a product (see {@link ActivationQuantizer}). */
    final float[] rounded;
    final Q8_0Activations q8 = new Q8_0Activations();
    final Q8_KActivations q8k = new Q8_KActivations();

    private int position;

    InferenceState(ModelConfig c, int capacity, int maxChunk) {
        this.config = c;
        this.capacity = capacity;
        this.maxChunk = maxChunk;
        keyCache = new float[c.layers()][capacity * c.kvDim()];
        valueCache = new float[c.layers()][capacity * c.valueDim()];
        x = new float[maxChunk * c.dim()];
        xb = new float[maxChunk * c.dim()];
        q = new float[maxChunk * c.queryDim()];
        k = new float[maxChunk * c.kvDim()];
        v = new float[maxChunk * c.valueDim()];
        attOut = new float[maxChunk * c.queryDim()];
        hb = new float[maxChunk * c.hiddenDim()];
        hb2 = new float[maxChunk * c.hiddenDim()];
        ropeCos = new float[maxChunk * (c.ropeDims() / 2)];
        ropeSin = new float[maxChunk * (c.ropeDims() / 2)];
        logits = new float[c.vocabSize()];
        rounded = new float[maxChunk * Math.max(Math.max(c.dim(), c.queryDim()), c.hiddenDim())];
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

    /** Logits of the last processed token (valid after a forward pass). */
    public float[] logits() {
        return logits;
    }
}
