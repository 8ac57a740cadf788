package dev.jgpt.engine.model;

/**
 * Text embeddings from a decoder model: the mean of the tokens' final hidden states (after the output
 * norm), scaled to unit length, which is what llama.cpp computes with mean pooling and normalization.
 */
public final class Embedder {
    private final HiddenStates hiddenStates;

    public Embedder(Transformer transformer) {
        this.hiddenStates = new HiddenStates(transformer);
    }

    /** Length of the vectors {@link #embed} returns. */
    public int dimension() {
        return hiddenStates.dimension();
    }

    /**
     * The unit-length embedding of {@code tokens} (a zero vector stays zero).
     *
     * @throws ContextOverflowException when there are more tokens than the model's context holds
     */
    public float[] embed(int[] tokens) {
        double[] sum = new double[dimension()];
        hiddenStates.forEach(tokens, (position, h) -> {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += h[i];
            }
        });
        double norm = 0;
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= tokens.length;
            norm += sum[i] * sum[i];
        }
        norm = Math.sqrt(norm);
        float[] out = new float[sum.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = norm > 0 ? (float) (sum[i] / norm) : 0f;
        }
        return out;
    }
}
