package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufWriter;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.Quantizer;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a random-weight Llama model of a realistic size for speed benchmarks, where memory bandwidth
 * rather than dispatch overhead decides the speed (the shared test models have 2-3 layers of 256). The
 * tokenizer (and its vocabulary size) is copied from an existing GGUF file, so the output matrix has a real
 * model's shape and llama.cpp loads the file too.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp engine/target/classes:engine/target/test-classes \
 *     dev.jgpt.engine.model.BenchModelWriter OUT.gguf TYPE [TOKENIZER.gguf] [layers] [dim] [ffn]
 * </pre>
 *
 * TYPE is {@code Q8_0}, {@code F16}, {@code Q4_0} or {@code Q4_K_M} (Q4_K matrices with Q6_K output,
 * value and down projections, like llama.cpp's mix). Defaults: 24 layers, n_embd 1024, 16 heads of 64
 * with 4 key/value heads, feed-forward 2816, tokenizer of {@code ../shared/models/tiny-llama-q8_0.gguf}.
 * Tensors are generated and quantized while the file is written, so memory stays small.
 */
public final class BenchModelWriter {
    private BenchModelWriter() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: BenchModelWriter OUT.gguf Q8_0|F16|Q4_0|Q4_K_M [TOKENIZER.gguf] [layers] [dim] [ffn]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        String mix = args[1].toUpperCase();
        Path tokenizer = Path.of(args.length > 2 ? args[2] : "../shared/models/tiny-llama-q8_0.gguf");
        int layers = args.length > 3 ? Integer.parseInt(args[3]) : 24;
        int dim = args.length > 4 ? Integer.parseInt(args[4]) : 1024;
        int ffn = args.length > 5 ? Integer.parseInt(args[5]) : 2816;
        write(out, mix, tokenizer, layers, dim, ffn, 42);
        System.out.printf("wrote %s (%.1f MiB)%n", out, sizeOf(out) / 1048576.0);
    }

    /** Writes the model; {@code mix} as in the class description. */
    public static Path write(Path file, String mix, Path tokenizerSource, int layers, int dim, int ffn, long seed) {
        GgmlType main = switch (mix) {
            case "Q8_0" -> GgmlType.Q8_0;
            case "F16" -> GgmlType.F16;
            case "Q4_0" -> GgmlType.Q4_0;
            case "Q4_K_M" -> GgmlType.Q4_K;
            default -> throw new IllegalArgumentException("unknown type mix " + mix + " (Q8_0, F16, Q4_0, Q4_K_M)");
        };
        GgmlType sensitive = mix.equals("Q4_K_M") ? GgmlType.Q6_K : main;
        int headDim = 64;
        int heads = dim / headDim;
        int kvHeads = Math.max(1, heads / 4);
        int kvDim = kvHeads * headDim;

        GgufWriter w = new GgufWriter();
        int vocab;
        try (GgufFile source = GgufReader.read(tokenizerSource)) {
            for (Map.Entry<String, Object> e : source.metadata().entrySet()) {
                if (e.getKey().startsWith("tokenizer.")) {
                    if (e.getValue().getClass().isArray()) {
                        w.putArray(e.getKey(), e.getValue());
                    } else {
                        w.put(e.getKey(), e.getValue());
                    }
                }
            }
            vocab = source.getStringArray("tokenizer.ggml.tokens").length;
        }
        String p = "llama.";
        w.put("general.architecture", "llama");
        w.put("general.name", "bench-llama-" + layers + "x" + dim + "-" + mix.toLowerCase());
        w.putU32(p + "context_length", 4096);
        w.putU32(p + "embedding_length", dim);
        w.putU32(p + "block_count", layers);
        w.putU32(p + "feed_forward_length", ffn);
        w.putU32(p + "attention.head_count", heads);
        w.putU32(p + "attention.head_count_kv", kvHeads);
        w.putU32(p + "rope.dimension_count", headDim);
        w.putF32(p + "rope.freq_base", 10000f);
        w.putF32(p + "attention.layer_norm_rms_epsilon", 1e-5f);

        SplittableRandom random = new SplittableRandom(seed);
        matrix(w, random.split(), "token_embd.weight", dim, vocab, main);
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            TinyModelWriter.norm(w, random.split(), b + "attn_norm.weight", dim);
            matrix(w, random.split(), b + "attn_q.weight", dim, dim, main);
            matrix(w, random.split(), b + "attn_k.weight", dim, kvDim, main);
            matrix(w, random.split(), b + "attn_v.weight", dim, kvDim, sensitive);
            matrix(w, random.split(), b + "attn_output.weight", dim, dim, main);
            TinyModelWriter.norm(w, random.split(), b + "ffn_norm.weight", dim);
            matrix(w, random.split(), b + "ffn_gate.weight", dim, ffn, main);
            matrix(w, random.split(), b + "ffn_up.weight", dim, ffn, main);
            matrix(w, random.split(), b + "ffn_down.weight", ffn, dim, sensitive);
        }
        TinyModelWriter.norm(w, random.split(), "output_norm.weight", dim);
        matrix(w, random.split(), "output.weight", dim, vocab, sensitive);
        w.write(file);
        return file;
    }

    /** A {@code rows x cols} matrix, generated and quantized only when the writer reaches it. */
    private static void matrix(GgufWriter w, SplittableRandom random, String name, int cols, int rows,
                               GgmlType type) {
        long bytes = (long) rows * cols / type.blockSize() * type.blockBytes();
        double std = 1.0 / Math.sqrt(cols);
        w.addTensor(name, type, new long[] {cols, rows}, bytes, channel -> {
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < cols; i++) {
                    row[i] = (float) (std * random.nextGaussian());
                }
                ByteBuffer data = ByteBuffer.wrap(Quantizer.quantize(type, row));
                while (data.hasRemaining()) {
                    channel.write(data);
                }
            }
        });
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
