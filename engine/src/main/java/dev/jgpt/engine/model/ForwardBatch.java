package dev.jgpt.engine.model;

import java.util.Arrays;

/**
 * The work of one forward pass over several sequences at once, and the scratch space it needs. Each
 * segment is a sequence and the tokens it appends now (one for a sequence that is decoding, a chunk of
 * its prompt for one that is prefilling); {@link Transformer#forward(ForwardBatch)} stacks all segments'
 * tokens so every weight matrix is read once per pass, whatever the number of sequences.
 *
 * <p>A batch is reusable: it is sized once ({@code maxTokens} stacked tokens, {@code maxSegments}
 * sequences), filled with {@link #add}, and emptied by the forward pass. Not thread-safe; one batch per
 * driving thread.
 */
public final class ForwardBatch {
    final ModelConfig config;
    final int maxTokens;
    final int maxSegments;

    final InferenceState[] states;
    /** Row of each segment's first token in the stacked activations. */
    final int[] firstRow;
    final int[] length;
    /** Tokens of the llama.cpp batch each segment's tokens would belong to (selects the attention path). */
    final int[] llamaBatchTokens;
    final boolean[] wantsLogits;
    /** Token id and cache position (set by the forward pass) of every stacked row. */
    final int[] rowToken;
    final int[] rowPosition;
    int segments;
    int tokens;

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
    /** Activations as llama.cpp rounds them before a product (see {@link ActivationQuantizer}). */
    final float[] rounded;
    /**
     * What the latest product of rounded activations multiplied: {@link #rounded}, or its input itself where
     * the weight type takes floats as they are; the next product on the same input reuses it.
     */
    float[] lastRounded;
    /** Logits of every segment that asks for them, one vocabulary-sized row each. */
    final float[] logitRows;
    final Q8_0Activations q8 = new Q8_0Activations();
    /**
     * Whether the model's weights stay in the caches between forward passes (set by each forward), for the
     * kernel choices of {@code MatrixOps.matmul}.
     */
    boolean cached;
    final Q8_KActivations q8k = new Q8_KActivations();
    final Q4_0Activations q4 = new Q4_0Activations();
    /** Attention scratch per thread (attention is split across the matrix pool's threads). */
    final ThreadLocal<FlashAttention> attention;
    /** Per segment: its keys of the current layer by tiles, for the tiled attention kernel (see FlashAttention). */
    final float[][] tiledKeys;

    ForwardBatch(ModelConfig c, int maxTokens, int maxSegments) {
        if (maxTokens < 1 || maxSegments < 1 || maxSegments > maxTokens) {
            throw new IllegalArgumentException("a batch needs 1 <= segments (" + maxSegments + ") <= tokens ("
                    + maxTokens + ")");
        }
        this.config = c;
        this.maxTokens = maxTokens;
        this.maxSegments = maxSegments;
        states = new InferenceState[maxSegments];
        firstRow = new int[maxSegments];
        length = new int[maxSegments];
        llamaBatchTokens = new int[maxSegments];
        wantsLogits = new boolean[maxSegments];
        rowToken = new int[maxTokens];
        rowPosition = new int[maxTokens];
        x = new float[maxTokens * c.dim()];
        xb = new float[maxTokens * c.dim()];
        q = new float[maxTokens * c.queryDim()];
        k = new float[maxTokens * c.kvDim()];
        v = new float[maxTokens * c.valueDim()];
        attOut = new float[maxTokens * c.queryDim()];
        hb = new float[maxTokens * c.hiddenDim()];
        hb2 = new float[maxTokens * c.hiddenDim()];
        ropeCos = new float[maxTokens * (c.ropeDims() / 2)];
        ropeSin = new float[maxTokens * (c.ropeDims() / 2)];
        rounded = new float[maxTokens * Math.max(Math.max(c.dim(), c.queryDim()), c.hiddenDim())];
        logitRows = maxSegments > 1 ? new float[maxSegments * c.vocabSize()] : null;
        attention = ThreadLocal.withInitial(() -> new FlashAttention(c.headDim(), c.kvDim()));
        tiledKeys = new float[maxSegments][];
    }

    /** Stacked tokens this batch can hold. */
    public int maxTokens() {
        return maxTokens;
    }

    /** Sequences this batch can hold. */
    public int maxSegments() {
        return maxSegments;
    }

    /** Tokens added so far. */
    public int tokens() {
        return tokens;
    }

    /** Segments added so far. */
    public int segments() {
        return segments;
    }

    /** Whether nothing has been added since the last forward pass. */
    public boolean isEmpty() {
        return segments == 0;
    }

    /**
     * Adds a segment: {@code ids[offset .. offset + n)} are appended to {@code state}'s sequence by the next
     * forward pass, which leaves the last one's logits in {@link InferenceState#logits()} if
     * {@code logits} is set.
     *
     * @param llamaBatchTokens how many tokens llama.cpp's batch (ubatch) would hold if this sequence ran
     *                         alone: 1 for a decoding token, {@link Transformer#llamaBatchTokens} for a
     *                         chunk of a longer prompt. Attention rounds differently by batch shape, and
     *                         this keeps each sequence's numerics those of running it alone.
     * @throws ContextOverflowException  when the sequence has no room for the tokens
     * @throws IllegalArgumentException  for a token outside the vocabulary, a sequence already in this
     *                                   batch, or a segment that does not fit
     */
    public void add(InferenceState state, int[] ids, int offset, int n, int llamaBatchTokens, boolean logits) {
        if (state.config != config) {
            throw new IllegalArgumentException("the sequence belongs to another model than this batch");
        }
        if (n < 1) {
            throw new IllegalArgumentException("a segment needs at least one token, got " + n);
        }
        if (state.position() + n > state.capacity) {
            throw new ContextOverflowException(state.position() + n, state.capacity);
        }
        if (segments == maxSegments || tokens + n > maxTokens) {
            throw new IllegalArgumentException("the batch is full: " + segments + " of " + maxSegments
                    + " segments, " + tokens + " of " + maxTokens + " tokens, cannot add " + n + " more");
        }
        for (int s = 0; s < segments; s++) {
            if (states[s] == state) {
                throw new IllegalArgumentException("the sequence is already in this batch");
            }
        }
        for (int t = offset; t < offset + n; t++) {
            if (ids[t] < 0 || ids[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[t] + " is outside the vocabulary (0.."
                        + (config.vocabSize() - 1) + ")");
            }
        }
        states[segments] = state;
        firstRow[segments] = tokens;
        length[segments] = n;
        this.llamaBatchTokens[segments] = Math.max(1, llamaBatchTokens);
        wantsLogits[segments] = logits;
        for (int i = 0; i < n; i++) {
            rowToken[tokens + i] = ids[offset + i];
        }
        segments++;
        tokens += n;
    }

    /** Removes every segment (the forward pass does this when it is done). */
    public void clear() {
        Arrays.fill(states, 0, segments, null);
        segments = 0;
        tokens = 0;
    }
}
