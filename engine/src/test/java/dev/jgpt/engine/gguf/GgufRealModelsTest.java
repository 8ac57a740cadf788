package dev.jgpt.engine.gguf;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared test models (made by llama.cpp) parse, hold exactly the tensors their architecture needs,
 * and survive a copy through {@link GgufWriter}: the copy reads identically, down to tensor offsets.
 */
class GgufRealModelsTest {
    @TempDir
    Path dir;

    /** What each shared model holds, from its README, checked against its header. */
    record Expected(String file, String architecture, int blocks, boolean tiedOutput, boolean qkvBias, boolean qkNorm,
                    Map<GgmlType, Integer> typeCounts) {}

    static Stream<Expected> models() {
        return Stream.of(
                new Expected("tiny-llama-q8_0.gguf", "llama", 2, false, false, false,
                        Map.of(GgmlType.F32, 5, GgmlType.Q8_0, 16)),
                new Expected("tiny-llama-q4_0.gguf", "llama", 2, false, false, false,
                        Map.of(GgmlType.F32, 5, GgmlType.Q4_0, 15, GgmlType.Q6_K, 1)),
                new Expected("tiny-llama-q4_k_m.gguf", "llama", 2, false, false, false,
                        Map.of(GgmlType.F32, 5, GgmlType.Q4_K, 13, GgmlType.Q6_K, 3)),
                new Expected("tiny-llama3-q4_0.gguf", "llama", 2, true, false, false,
                        Map.of(GgmlType.F32, 5, GgmlType.Q4_0, 15)),
                new Expected("tiny-qwen2-q4_k_m.gguf", "qwen2", 2, true, true, false,
                        Map.of(GgmlType.F32, 11, GgmlType.Q4_K, 12, GgmlType.Q6_K, 3)),
                new Expected("tiny-qwen3-f16.gguf", "qwen3", 3, true, false, true,
                        Map.of(GgmlType.F32, 13, GgmlType.F16, 22)),
                new Expected("tiny-qwen3-q8_0.gguf", "qwen3", 3, true, false, true,
                        Map.of(GgmlType.F32, 13, GgmlType.Q8_0, 22)));
    }

    static Stream<Path> modelFiles() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.root().resolve("models"))) {
            return files.filter(p -> p.toString().endsWith(".gguf")).sorted().toList().stream();
        }
    }

    @Test
    void everySharedModelIsListedHere() throws IOException {
        Set<String> listed = new TreeSet<>(models().map(Expected::file).toList());
        Set<String> present = new TreeSet<>(modelFiles().map(p -> p.getFileName().toString()).toList());
        assertEquals(listed, present);
    }

    @ParameterizedTest
    @MethodSource("models")
    void headerMatchesTheArchitecture(Expected e) {
        try (GgufFile f = GgufReader.read(SharedData.model(e.file))) {
            assertEquals(3, f.version());
            String arch = f.getString("general.architecture");
            assertEquals(e.architecture, arch);
            assertEquals(e.blocks, f.getInt(arch + ".block_count"));
            int embd = f.getInt(arch + ".embedding_length");
            assertEquals(256, embd);
            int vocab = f.getStringArray("tokenizer.ggml.tokens").length;

            Set<String> expectedNames = new TreeSet<>(List.of("token_embd.weight", "output_norm.weight"));
            if (!e.tiedOutput) {
                expectedNames.add("output.weight");
            }
            for (int i = 0; i < e.blocks; i++) {
                for (String t : List.of("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                        "ffn_gate", "ffn_up", "ffn_down")) {
                    expectedNames.add("blk." + i + "." + t + ".weight");
                }
                if (e.qkvBias) {
                    expectedNames.addAll(List.of("blk." + i + ".attn_q.bias", "blk." + i + ".attn_k.bias",
                            "blk." + i + ".attn_v.bias"));
                }
                if (e.qkNorm) {
                    expectedNames.addAll(List.of("blk." + i + ".attn_q_norm.weight", "blk." + i + ".attn_k_norm.weight"));
                }
            }
            assertEquals(expectedNames, new TreeSet<>(f.tensors().keySet()));

            Map<GgmlType, Integer> counts = new TreeMap<>();
            for (GgufTensorInfo t : f.tensors().values()) {
                counts.merge(t.type(), 1, Integer::sum);
                assertEquals(t.type().byteSize(t.elementCount()), t.data().byteSize(), t.name());
                assertEquals(0, t.offset() % 32, t.name());
                assertTrue(t.type().supported(), t.name() + " " + t.type());
            }
            assertEquals(e.typeCounts, counts);
            assertArrayEquals(new long[] {embd, vocab}, f.tensor("token_embd.weight").shape());
            assertArrayEquals(new long[] {embd}, f.tensor("output_norm.weight").shape());
            assertEquals(GgmlType.F32, f.tensor("output_norm.weight").type());
        }
    }

    @Test
    void q4kmOutputIsQ6K() {
        try (GgufFile f = GgufReader.read(SharedData.model("tiny-llama-q4_k_m.gguf"))) {
            GgufTensorInfo output = f.tensor("output.weight");
            assertEquals(GgmlType.Q6_K, output.type());
            assertArrayEquals(new long[] {256, 32000}, output.shape());
            assertEquals(256L * 32000 / 256 * 210, output.data().byteSize());
            assertEquals(32000, f.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals("llama", f.getString("tokenizer.ggml.model"));
            assertEquals(15, f.getInt("general.file_type")); // LLAMA_FTYPE_MOSTLY_Q4_K_M
        }
    }

    /** Metadata for metadata and tensor for tensor, a copy made by GgufWriter reads back identically. */
    @ParameterizedTest
    @MethodSource("modelFiles")
    void copyThroughTheWriterReadsIdentically(Path model) {
        Path copy = dir.resolve("copy-" + model.getFileName());
        try (GgufFile original = GgufReader.read(model)) {
            copyOf(original).write(copy);
            try (GgufFile read = GgufReader.read(copy)) {
                assertEquals(original.version(), read.version());
                GgufRoundTripTest.assertSameMetadata(original.metadata(), read.metadata());
                assertEquals(new ArrayList<>(original.tensors().keySet()), new ArrayList<>(read.tensors().keySet()));
                for (GgufTensorInfo t : original.tensors().values()) {
                    GgufTensorInfo c = read.tensor(t.name());
                    assertEquals(t.type(), c.type(), t.name());
                    assertArrayEquals(t.shape(), c.shape(), t.name());
                    assertEquals(t.offset(), c.offset(), t.name() + ": the writer packs tensors as llama.cpp does");
                    assertEquals(-1, t.data().mismatch(c.data()), t.name() + " data differ");
                }
                // The same layout, so the same size unless an integer key changed width (e.g. u64 to u32).
                assertTrue(Math.abs(original.fileSize() - read.fileSize()) < 64,
                        original.fileSize() + " vs " + read.fileSize());
            }
        }
    }

    /** The use the writer was made for: a real model with one hyper-parameter changed and one removed. */
    @Test
    void modifiedCopyOfARealModel() {
        Path copy = dir.resolve("modified.gguf");
        try (GgufFile original = GgufReader.read(SharedData.model("tiny-qwen2-q4_k_m.gguf"))) {
            copyOf(original).put("general.name", "modified ✓").putF32("qwen2.rope.freq_base", 5e5f)
                    .remove("tokenizer.chat_template").write(copy);
        }
        try (GgufFile f = GgufReader.read(copy)) {
            assertEquals("modified ✓", f.getString("general.name"));
            assertEquals(5e5, f.getDouble("qwen2.rope.freq_base"));
            assertFalse(f.has("tokenizer.chat_template"));
            assertEquals(26, f.tensors().size());
        }
    }

    /** A writer holding all of {@code f}: metadata through put(Object), tensor data streamed from the mapping. */
    static GgufWriter copyOf(GgufFile f) {
        GgufWriter w = new GgufWriter(f.version());
        f.metadata().forEach(w::put);
        for (GgufTensorInfo t : f.tensors().values()) {
            w.addTensor(t.name(), t.type(), t.shape(), t.data().asByteBuffer());
        }
        return w;
    }
}
