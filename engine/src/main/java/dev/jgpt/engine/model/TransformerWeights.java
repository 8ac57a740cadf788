package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufTensorInfo;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.UnsupportedTensorTypeException;

import java.util.Arrays;

/**
 * The weights of a Llama-family transformer, viewed in place in the mapped GGUF file. Shapes are checked
 * against the configuration at load time so a malformed file fails here, with the tensor's name, and not
 * with an index error mid-generation.
 */
public record TransformerWeights(
        FloatTensor tokenEmbedding,
        Layer[] layers,
        float[] outputNorm,
        FloatTensor output,
        float[] ropeFreqFactors) {

    /** One transformer block. Biases and Q/K norms are null when the architecture has none. */
    public record Layer(
            float[] attentionNorm,
            FloatTensor wq, FloatTensor wk, FloatTensor wv, FloatTensor wo,
            float[] bq, float[] bk, float[] bv,
            float[] qNorm, float[] kNorm,
            float[] ffnNorm,
            FloatTensor ffnGate, FloatTensor ffnUp, FloatTensor ffnDown) {
    }

    /** Bytes of the matrices the forward pass multiplies with: every layer's and the output's. */
    public long matrixBytes() {
        long bytes = output.data().byteSize();
        for (Layer l : layers) {
            for (FloatTensor t : new FloatTensor[] {l.wq(), l.wk(), l.wv(), l.wo(), l.ffnGate(), l.ffnUp(),
                    l.ffnDown()}) {
                bytes += t.data().byteSize();
            }
        }
        return bytes;
    }

    public static TransformerWeights load(GgufFile gguf, ModelConfig c) {
        Architecture arch = c.architecture();
        FloatTensor embedding = matrix(gguf, "token_embd.weight", c.dim(), c.vocabSize());
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String b = "blk." + i + ".";
            layers[i] = new Layer(
                    vector(gguf, b + "attn_norm.weight", c.dim()),
                    matrix(gguf, b + "attn_q.weight", c.dim(), c.queryDim()),
                    matrix(gguf, b + "attn_k.weight", c.dim(), c.kvDim()),
                    matrix(gguf, b + "attn_v.weight", c.dim(), c.valueDim()),
                    matrix(gguf, b + "attn_output.weight", c.queryDim(), c.dim()),
                    optionalVector(gguf, b + "attn_q.bias", c.queryDim(), arch.qkvBias()),
                    optionalVector(gguf, b + "attn_k.bias", c.kvDim(), arch.qkvBias()),
                    optionalVector(gguf, b + "attn_v.bias", c.valueDim(), arch.qkvBias()),
                    optionalVector(gguf, b + "attn_q_norm.weight", c.headDim(), arch.qkNorm()),
                    optionalVector(gguf, b + "attn_k_norm.weight", c.headDim(), arch.qkNorm()),
                    vector(gguf, b + "ffn_norm.weight", c.dim()),
                    matrix(gguf, b + "ffn_gate.weight", c.dim(), c.hiddenDim()),
                    matrix(gguf, b + "ffn_up.weight", c.dim(), c.hiddenDim()),
                    matrix(gguf, b + "ffn_down.weight", c.hiddenDim(), c.dim()));
        }
        float[] outputNorm = vector(gguf, "output_norm.weight", c.dim());
        // Models with tied embeddings reuse the token embedding as the output projection.
        FloatTensor output = gguf.tensors().containsKey("output.weight")
                ? matrix(gguf, "output.weight", c.dim(), c.vocabSize())
                : embedding;
        float[] freqFactors = gguf.tensors().containsKey("rope_freqs.weight")
                ? vector(gguf, "rope_freqs.weight", c.ropeDims() / 2)
                : null;
        return new TransformerWeights(embedding, layers, outputNorm, output, freqFactors);
    }

    private static FloatTensor matrix(GgufFile gguf, String name, int cols, int rows) {
        GgufTensorInfo t = require(gguf, name);
        long[] s = t.shape();
        if (t.rowLength() != cols || t.rowCount() != rows) {
            throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' has shape " + Arrays.toString(s)
                    + ", expected [" + cols + ", " + rows + "] from the model's metadata");
        }
        return wrap(gguf, t);
    }

    private static float[] vector(GgufFile gguf, String name, int length) {
        GgufTensorInfo t = require(gguf, name);
        if (t.elementCount() != length) {
            throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' has " + t.elementCount()
                    + " elements, expected " + length);
        }
        FloatTensor tensor = wrap(gguf, t);
        float[] out = new float[length];
        tensor.dequantize(0, out, 0, length);
        return out;
    }

    private static float[] optionalVector(GgufFile gguf, String name, int length, boolean expected) {
        if (!gguf.tensors().containsKey(name)) {
            if (expected && name.contains("norm")) {
                throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' is missing");
            }
            return null;
        }
        return vector(gguf, name, length);
    }

    private static GgufTensorInfo require(GgufFile gguf, String name) {
        GgufTensorInfo t = gguf.tensors().get(name);
        if (t == null) {
            throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' is missing (the file is incomplete "
                    + "or not a " + gguf.getString("general.architecture", "?") + " model)");
        }
        return t;
    }

    private static FloatTensor wrap(GgufFile gguf, GgufTensorInfo t) {
        try {
            return FloatTensor.of(t.type(), t.data(), t.elementCount());
        } catch (UnsupportedTensorTypeException e) {
            throw new ModelLoadException(gguf.path() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }
}
