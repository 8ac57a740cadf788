package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufWriter;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.Quantizer;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes small random Llama-family GGUF models for tests: any architecture, any weight type, a tiny
 * SentencePiece vocabulary (byte tokens plus a few words). With {@code dequantizedF32} the same model is
 * written with F32 weights holding exactly the values the quantized file decodes to, so the two can be
 * compared: differences then come from the kernels, not from quantization.
 */
public final class TinyModelWriter {
    public static final int DIM = 256;
    public static final int HIDDEN = 512;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int LAYERS = 2;

    private TinyModelWriter() {
    }

    public static List<String> vocabulary() {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
        }
        for (String w : List.of("▁", "▁the", "▁a", "▁cat", "▁dog", "▁sat", "▁on", "▁mat", "e", "t", "a", "o", "n",
                "s", "h", "▁hello", "▁world", "l", "d", "r", "c", "m", "g", "w", "i", "u", "p", "b", "k", ".", ",")) {
            tokens.add(w);
        }
        return tokens;
    }

    public static Path write(Path file, Architecture arch, GgmlType type, boolean dequantizedF32, long seed) {
        List<String> vocab = vocabulary();
        int n = vocab.size();
        GgufWriter w = new GgufWriter();
        String p = arch.ggufName() + ".";
        w.put("general.architecture", arch.ggufName());
        w.put("general.name", "tiny-" + arch.ggufName() + "-" + type);
        w.putU32(p + "context_length", 256);
        w.putU32(p + "embedding_length", DIM);
        w.putU32(p + "block_count", LAYERS);
        w.putU32(p + "feed_forward_length", HIDDEN);
        w.putU32(p + "attention.head_count", HEADS);
        w.putU32(p + "attention.head_count_kv", KV_HEADS);
        w.putF32(p + "rope.freq_base", 10000f);
        w.putF32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        w.put("tokenizer.ggml.model", "llama");
        w.putArray("tokenizer.ggml.tokens", vocab.toArray(new String[0]));
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            scores[i] = i < 259 ? 0f : -i;
            types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
        }
        w.putArray("tokenizer.ggml.scores", scores);
        w.putArray("tokenizer.ggml.token_type", types);
        w.putU32("tokenizer.ggml.bos_token_id", 1);
        w.putU32("tokenizer.ggml.eos_token_id", 2);
        w.putU32("tokenizer.ggml.unknown_token_id", 0);

        SplittableRandom random = new SplittableRandom(seed);
        GgmlType stored = dequantizedF32 ? GgmlType.F32 : type;
        matrix(w, random, "token_embd.weight", DIM, n, type, stored);
        int kvDim = KV_HEADS * (DIM / HEADS);
        for (int l = 0; l < LAYERS; l++) {
            String b = "blk." + l + ".";
            norm(w, random, b + "attn_norm.weight", DIM);
            matrix(w, random, b + "attn_q.weight", DIM, DIM, type, stored);
            matrix(w, random, b + "attn_k.weight", DIM, kvDim, type, stored);
            matrix(w, random, b + "attn_v.weight", DIM, kvDim, type, stored);
            matrix(w, random, b + "attn_output.weight", DIM, DIM, type, stored);
            if (arch.qkvBias()) {
                norm(w, random, b + "attn_q.bias", DIM);
                norm(w, random, b + "attn_k.bias", kvDim);
                norm(w, random, b + "attn_v.bias", kvDim);
            }
            if (arch.qkNorm()) {
                norm(w, random, b + "attn_q_norm.weight", DIM / HEADS);
                norm(w, random, b + "attn_k_norm.weight", DIM / HEADS);
            }
            norm(w, random, b + "ffn_norm.weight", DIM);
            matrix(w, random, b + "ffn_gate.weight", DIM, HIDDEN, type, stored);
            matrix(w, random, b + "ffn_up.weight", DIM, HIDDEN, type, stored);
            matrix(w, random, b + "ffn_down.weight", HIDDEN, DIM, type, stored);
        }
        norm(w, random, "output_norm.weight", DIM);
        matrix(w, random, "output.weight", DIM, n, type, stored);
        w.write(file);
        return file;
    }

    /** A norm weight vector of {@code length} values around 1. */
    static void norm(GgufWriter w, SplittableRandom random, String name, int length) {
        float[] v = new float[length];
        for (int i = 0; i < length; i++) {
            v[i] = (float) (1.0 + 0.1 * random.nextGaussian());
        }
        w.addTensor(name, GgmlType.F32, new long[] {length}, Quantizer.quantize(GgmlType.F32, v));
    }

    private static void matrix(GgufWriter w, SplittableRandom random, String name, int cols, int rows,
                               GgmlType type, GgmlType stored) {
        float[] v = new float[cols * rows];
        double std = 1.0 / Math.sqrt(cols);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (std * random.nextGaussian());
        }
        byte[] quantized = Quantizer.quantize(type, v);
        if (stored == type) {
            w.addTensor(name, type, new long[] {cols, rows}, quantized);
            return;
        }
        float[] decoded = new float[v.length];
        FloatTensor.of(type, MemorySegment.ofArray(quantized), v.length).dequantize(0, decoded, 0, v.length);
        w.addTensor(name, GgmlType.F32, new long[] {cols, rows}, Quantizer.quantize(GgmlType.F32, decoded));
    }
}
