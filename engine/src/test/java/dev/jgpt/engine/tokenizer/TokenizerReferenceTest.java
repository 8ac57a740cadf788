package dev.jgpt.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizers reproduce llama.cpp: the models' prompt tokens and llama.cpp's tokenizer test vectors. */
class TokenizerReferenceTest {

    static Stream<Path> logitReferences() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("logits"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("logitReferences")
    void promptTokensMatchLlamaCpp(Path reference) throws IOException {
        String[] parts = reference.getFileName().toString().split("\\.");
        JsonNode ref = new ObjectMapper().readTree(reference.toFile());
        int[] expected = new int[ref.get("prompt_tokens").size()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = ref.get("prompt_tokens").get(i).asInt();
        }
        String text = Files.readString(SharedData.reference("prompts/" + parts[1] + ".txt"), StandardCharsets.UTF_8);
        try (GgufFile gguf = GgufReader.read(SharedData.model(parts[0] + ".gguf"))) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            int[] actual = tokenizer.encode(text, true, true);
            assertArrayEquals(expected, actual, reference.getFileName().toString());
            int[] withoutBos = tokenizer.bos() >= 0 && actual.length > 0 && actual[0] == tokenizer.bos()
                    ? Arrays.copyOfRange(actual, 1, actual.length) : actual;
            assertTrue(text.equals(tokenizer.decode(withoutBos)), "decodes back to the prompt");
        }
    }

    static Stream<String> vocabularies() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("tokenizer"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".gguf"))
                    .filter(n -> !n.contains("bert")) // WordPiece: not supported yet
                    .sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabularies")
    void reproducesLlamaCppTestVectors(String vocabFile) throws IOException {
        Path dir = SharedData.reference("tokenizer");
        String inputs = Files.readString(dir.resolve(vocabFile + ".inp"), StandardCharsets.UTF_8);
        List<String> outputs = Files.readAllLines(dir.resolve(vocabFile + ".out"), StandardCharsets.UTF_8);
        String[] cases = inputs.split("\n__ggml_vocab_test__\n", -1);
        List<String> failures = new ArrayList<>();
        try (GgufFile gguf = GgufReader.read(dir.resolve(vocabFile))) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            for (int i = 0; i < outputs.size() && i < cases.length; i++) {
                String input = cases[i];
                String expectedLine = outputs.get(i).strip();
                int[] expected = expectedLine.isEmpty() ? new int[0]
                        : Arrays.stream(expectedLine.split("\\s+")).mapToInt(Integer::parseInt).toArray();
                int[] actual = tokenizer.encode(input, false, false);
                if (!Arrays.equals(expected, actual)) {
                    failures.add("case " + i + " " + printable(input) + ": expected " + Arrays.toString(expected)
                            + " got " + Arrays.toString(actual));
                }
            }
        }
        assertTrue(failures.isEmpty(), vocabFile + ": " + failures.size() + " of " + outputs.size()
                + " cases differ:\n" + String.join("\n", failures.subList(0, Math.min(8, failures.size()))));
    }

    private static String printable(String s) {
        String p = s.replace("\n", "\\n").replace("\t", "\\t");
        return "'" + (p.length() > 40 ? p.substring(0, 40) + "…" : p) + "'";
    }
}
