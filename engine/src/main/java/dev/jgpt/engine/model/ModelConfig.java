package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufFile;

/**
 * Hyper-parameters of a transformer, read from GGUF metadata ({@code <arch>.*} keys).
 *
 * @param headDim      size of one query/key head ({@code attention.key_length}, default dim / heads)
 * @param valueHeadDim size of one value head ({@code attention.value_length})
 * @param ropeDims     leading dimensions of each head that RoPE rotates
 * @param ropeScale    positions are multiplied by this (1 / linear scaling factor)
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int valueHeadDim,
        int contextLength,
        int vocabSize,
        float rmsEps,
        float ropeBase,
        int ropeDims,
        float ropeScale) {

    public int queryDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int valueDim() {
        return kvHeads * valueHeadDim;
    }

    public static ModelConfig fromGguf(GgufFile gguf, int vocabSize) {
        Architecture arch = Architecture.fromGguf(gguf.getString("general.architecture"));
        String p = arch.ggufName() + ".";
        int dim = gguf.getInt(p + "embedding_length");
        int heads = gguf.getInt(p + "attention.head_count");
        int kvHeads = gguf.getInt(p + "attention.head_count_kv", heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new ModelLoadException(gguf.path() + ": " + heads + " attention heads cannot be shared by "
                    + kvHeads + " key/value heads");
        }
        int headDim = gguf.getInt(p + "attention.key_length", dim / heads);
        int valueHeadDim = gguf.getInt(p + "attention.value_length", headDim);
        if (valueHeadDim != headDim) {
            throw new ModelLoadException(gguf.path() + ": key length " + headDim + " differs from value length "
                    + valueHeadDim + ", which jgpt does not support");
        }
        float ropeScale = 1f;
        String scalingType = gguf.getString(p + "rope.scaling.type", "none");
        // Llama 3 scaling arrives as the rope_freqs tensor (see TransformerWeights). YaRN and friends are not
        // applied: they matter only beyond the original context, which jgpt runs the model within.
        if (scalingType.equals("linear")) {
            double factor = gguf.getDouble(p + "rope.scaling.factor", 1.0);
            if (factor > 0) {
                ropeScale = (float) (1.0 / factor);
            }
        }
        return new ModelConfig(
                arch,
                dim,
                gguf.getInt(p + "feed_forward_length"),
                gguf.getInt(p + "block_count"),
                heads,
                kvHeads,
                headDim,
                valueHeadDim,
                gguf.getInt(p + "context_length", 2048),
                vocabSize,
                (float) gguf.getDouble(p + "attention.layer_norm_rms_epsilon", 1e-5),
                (float) gguf.getDouble(p + "rope.freq_base", 10000.0),
                gguf.getInt(p + "rope.dimension_count", headDim),
                ropeScale);
    }
}
