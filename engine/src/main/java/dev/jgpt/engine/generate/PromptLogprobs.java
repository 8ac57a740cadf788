package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.HiddenStates;
import dev.jgpt.engine.model.LogProbabilities;
import dev.jgpt.engine.model.Transformer;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.MatrixOps;

import java.util.ArrayList;
import java.util.List;

/**
 * How likely the model finds each token of a given text after the ones before it (what OpenAI's
 * {@code echo} with {@code logprobs} reports for a prompt). Logits are computed from float activations, so
 * they can differ from a generation's in the last digits where llama.cpp quantizes activations.
 */
public final class PromptLogprobs {
    private final Transformer transformer;
    private final HiddenStates hiddenStates;

    public PromptLogprobs(Transformer transformer) {
        this.transformer = transformer;
        this.hiddenStates = new HiddenStates(transformer);
    }

    /**
     * One entry for each token after the first ({@code tokens[1..]}), with its log-probability given the
     * tokens before it and the {@code top} most likely tokens at that position; the first token has none.
     */
    public List<TokenLogprob> of(int[] tokens, int top) {
        if (top < 0 || top > GenerationRequest.MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("top must be between 0 and " + GenerationRequest.MAX_TOP_LOGPROBS
                    + ", got " + top);
        }
        FloatTensor output = transformer.weights().output();
        int vocab = transformer.config().vocabSize();
        int dim = transformer.config().dim();
        float[] logits = new float[vocab];
        List<TokenLogprob> out = new ArrayList<>(Math.max(0, tokens.length - 1));
        hiddenStates.forEach(tokens, (position, h) -> {
            if (position + 1 < tokens.length) {
                MatrixOps.shared().matvec(output, h, 0, logits, 0, vocab, dim);
                out.add(Generator.logprob(tokens[position + 1], LogProbabilities.logSoftmax(logits), top));
            }
        });
        return out;
    }
}
