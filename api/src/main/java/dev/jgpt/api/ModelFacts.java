package dev.jgpt.api;

import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufTensorInfo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What model listings say about a GGUF file without loading its weights: architecture, parameter count,
 * quantization, chat template, scalar metadata, size, modification time and a digest. The header is read
 * once per file version; later calls are answered from memory.
 *
 * @param metadata the file's scalar metadata (arrays such as the vocabulary are left out)
 * @param digest   SHA-256 of the file's path, size and modification time: an identity that changes when the
 *                 file does, like Ollama's manifest digest, without reading gigabytes of weights to list models
 */
record ModelFacts(String architecture, long parameterCount, String quantization, String chatTemplate,
                  Map<String, Object> metadata, long size, Instant modified, String digest) {

    private record Version(Path file, long size, Instant modified) {
    }

    private static final Map<Version, ModelFacts> CACHE = new ConcurrentHashMap<>();

    /** The facts of a model file (read on first use of this file version). */
    static ModelFacts of(Path file) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            Version version = new Version(file, attributes.size(), attributes.lastModifiedTime().toInstant());
            return CACHE.computeIfAbsent(version, v -> read(v.file(), v.size(), v.modified()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model file " + file, e);
        }
    }

    /** Parameters in Ollama's style: "494.0M", "8.0B". */
    String parameterSize() {
        if (parameterCount >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.1fB", parameterCount / 1e9);
        }
        if (parameterCount >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.1fM", parameterCount / 1e6);
        }
        return String.format(Locale.ROOT, "%.1fK", parameterCount / 1e3);
    }

    private static ModelFacts read(Path file, long size, Instant modified) {
        try (GgufFile gguf = GgufReader.read(file)) {
            long parameters = 0;
            for (GgufTensorInfo t : gguf.tensors().values()) {
                parameters += t.elementCount();
            }
            Map<String, Object> scalars = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : gguf.metadata().entrySet()) {
                if (!e.getValue().getClass().isArray() && !e.getKey().equals("tokenizer.chat_template")) {
                    scalars.put(e.getKey(), e.getValue());
                }
            }
            return new ModelFacts(gguf.getString("general.architecture", "unknown"), parameters,
                    quantization(gguf), gguf.getString("tokenizer.chat_template", ""), Map.copyOf(scalars), size,
                    modified, digest(file, size, modified));
        }
    }

    /** llama.cpp's name for {@code general.file_type}, or the type of the token embeddings when it is absent. */
    private static String quantization(GgufFile gguf) {
        long fileType = gguf.getLong("general.file_type", -1);
        String name = switch ((int) fileType) {
            case 0 -> "F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K";
            case 11 -> "Q3_K_S";
            case 12 -> "Q3_K_M";
            case 13 -> "Q3_K_L";
            case 14 -> "Q4_K_S";
            case 15 -> "Q4_K_M";
            case 16 -> "Q5_K_S";
            case 17 -> "Q5_K_M";
            case 18 -> "Q6_K";
            case 32 -> "BF16";
            default -> null;
        };
        if (name != null) {
            return name;
        }
        GgufTensorInfo embeddings = gguf.tensors().get("token_embd.weight");
        return embeddings == null ? "unknown" : embeddings.type().name();
    }

    private static String digest(Path file, long size, Instant modified) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((file.toAbsolutePath() + "\n" + size + "\n" + modified).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
