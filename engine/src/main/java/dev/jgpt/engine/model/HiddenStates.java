package dev.jgpt.engine.model;

/**
 * The last layer's hidden state of every token of a text, after the output norm: what the output matrix
 * turns into logits, and what embeddings are pooled from. Each call runs the tokens through a fresh
 * sequence state of their own length, so it never disturbs (nor reuses) a generation's cache.
 */
public final class HiddenStates {

    /** Receives one position's hidden state, {@code h[0 .. dimension)}; the array is reused after the call. */
    @FunctionalInterface
    public interface Visitor {
        void accept(int position, float[] h);
    }

    /** Tokens per forward pass: bounds the scratch space, as a lone sequence's passes do. */
    private static final int CHUNK = 64;

    private final Transformer transformer;
    /** Scratch for {@link #logits}, made on first use. */
    private ForwardBatch projection;

    public HiddenStates(Transformer transformer) {
        this.transformer = transformer;
    }

    /**
     * The logits of a hidden state from {@link #forEach}: the output matrix times {@code h}, computed as the
     * forward pass computes a sequence's last logits (same activation quantization, same kernels), so they
     * equal what generation sees at that position. Not thread-safe: one instance per thread.
     */
    public void logits(float[] h, float[] out) {
        if (projection == null) {
            projection = transformer.newBatch(1, 1);
        }
        ModelConfig c = transformer.config();
        Transformer.matmul(projection, transformer.weights().output(), h, 1, out, c.vocabSize(), c.dim());
    }

    /** Length of each hidden state (the model's embedding width). */
    public int dimension() {
        return transformer.config().dim();
    }

    /**
     * Runs {@code tokens} and hands each position's normalized hidden state to {@code visitor}, in order.
     *
     * @throws ContextOverflowException when there are more tokens than the model's context holds
     * @throws IllegalArgumentException when {@code tokens} is empty or holds an id outside the vocabulary
     */
    public void forEach(int[] tokens, Visitor visitor) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        ModelConfig c = transformer.config();
        if (tokens.length > c.contextLength()) {
            throw new ContextOverflowException(tokens.length, c.contextLength());
        }
        InferenceState s = transformer.newState(tokens.length);
        ForwardBatch batch = transformer.newBatch(Math.min(tokens.length, CHUNK), 1);
        int dim = c.dim();
        float[] h = new float[dim];
        int done = 0;
        while (done < tokens.length) {
            int n = Math.min(CHUNK, tokens.length - done);
            batch.add(s, tokens, done, n, Transformer.llamaBatchTokens(tokens.length, done), false);
            transformer.forward(batch);
            // The pass leaves the last layer's outputs (before the output norm) in the batch's residual rows.
            for (int i = 0; i < n; i++) {
                Transformer.rmsnorm(h, 0, batch.x, i * dim, transformer.weights().outputNorm(), dim, c.rmsEps());
                visitor.accept(done + i, h);
            }
            done += n;
        }
    }
}
