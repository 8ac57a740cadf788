package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every weight type through the whole forward pass, on models the test writes itself: a quantized model
 * must give (nearly) the logits of the same model stored as F32 with the decoded weights.
 */
class TinyModelTest {

    static float[] logits(Path file, int[] tokens) {
        try (Model m = Model.load(file)) {
            Transformer tf = m.transformer();
            InferenceState s = tf.newState(64);
            tf.forward(s, tokens, 0, tokens.length);
            return s.logits().clone();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void quantizedModelMatchesItsDecodedF32Twin(GgmlType type, @TempDir Path dir) {
        Path quantized = TinyModelWriter.write(dir.resolve("q.gguf"), Architecture.LLAMA, type, false, 11);
        Path reference = TinyModelWriter.write(dir.resolve("f32.gguf"), Architecture.LLAMA, type, true, 11);
        int[] tokens = {1, 260, 261, 262, 263, 264, 265, 266};
        float[] a = logits(quantized, tokens);
        float[] b = logits(reference, tokens);
        double maxAbs = 0;
        double maxDiff = 0;
        for (int i = 0; i < a.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(b[i]));
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        }
        // Activations are rounded to 8 bits (or F16) before quantized products, as in llama.cpp: allow that.
        assertTrue(maxDiff <= 0.05 * maxAbs + 1e-3, type + ": max logit difference " + maxDiff + " (max |logit| "
                + maxAbs + ")");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Architecture.class)
    void everyArchitectureRunsAndIsDeterministic(Architecture arch, @TempDir Path dir) {
        Path file = TinyModelWriter.write(dir.resolve("m.gguf"), arch, GgmlType.Q8_0, false, 5);
        int[] tokens = {1, 270, 271, 272};
        float[] first = logits(file, tokens);
        float[] second = logits(file, tokens);
        assertEquals(TinyModelWriter.vocabulary().size(), first.length);
        for (int i = 0; i < first.length; i++) {
            assertTrue(Float.isFinite(first[i]));
            assertEquals(first[i], second[i]);
        }
    }

    @Test
    void chunkedPromptEqualsTokenByToken(@TempDir Path dir) {
        Path file = TinyModelWriter.write(dir.resolve("m.gguf"), Architecture.QWEN3, GgmlType.F32, false, 3);
        int[] tokens = new int[70]; // more than one prefill chunk
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 260 + i % 30;
        }
        try (Model m = Model.load(file)) {
            Transformer tf = m.transformer();
            InferenceState whole = tf.newState(128);
            tf.forward(whole, tokens, 0, tokens.length);
            InferenceState single = tf.newState(128);
            for (int i = 0; i < tokens.length; i++) {
                tf.forward(single, tokens, i, 1);
            }
            // Batched products sum in another order than single dots; a wrong position or cache slot would
            // change logits by whole units, not by this rounding.
            for (int i = 0; i < whole.logits().length; i++) {
                assertEquals(whole.logits()[i], single.logits()[i], 1e-2f * (1 + Math.abs(whole.logits()[i])));
            }
        }
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws Exception {
        Path file = TinyModelWriter.write(dir.resolve("m.gguf"), Architecture.LLAMA, GgmlType.F32, false, 1);
        // A qwen3 model needs Q/K norms that a llama file does not have.
        var gguf = dev.jgpt.engine.gguf.GgufReader.read(file);
        var w = new dev.jgpt.engine.gguf.GgufWriter();
        gguf.metadata().forEach((k, v) -> {
            if (k.startsWith("llama.")) {
                w.put("qwen3." + k.substring(6), v);
            } else if (!k.equals("general.architecture")) {
                w.put(k, v);
            }
        });
        w.put("general.architecture", "qwen3");
        for (var t : gguf.tensors().values()) {
            w.addTensor(t.name(), t.type(), t.shape(), t.data().asByteBuffer());
        }
        Path renamed = dir.resolve("qwen3.gguf");
        w.write(renamed);
        gguf.close();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(renamed));
        assertTrue(e.getMessage().contains("attn_q_norm"), e.getMessage());
    }

    @Test
    void unsupportedArchitectureIsNamed(@TempDir Path dir) {
        Path file = TinyModelWriter.write(dir.resolve("m.gguf"), Architecture.LLAMA, GgmlType.F32, false, 1);
        var gguf = dev.jgpt.engine.gguf.GgufReader.read(file);
        var w = new dev.jgpt.engine.gguf.GgufWriter();
        gguf.metadata().forEach(w::put);
        w.put("general.architecture", "mamba");
        for (var t : gguf.tensors().values()) {
            w.addTensor(t.name(), t.type(), t.shape(), t.data().asByteBuffer());
        }
        w.write(dir.resolve("mamba.gguf"));
        gguf.close();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(dir.resolve("mamba.gguf")));
        assertTrue(e.getMessage().contains("'mamba' is not supported"), e.getMessage());
    }
}
