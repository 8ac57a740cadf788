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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizers reproduce llama.cpp: its tokenizer test vectors and the models' prompt tokens. */
class TokenizerReferenceTest {

    static Stream<String> vocabularies() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("tokenizer"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".gguf")).sorted().toList()
                    .stream();
        }
    }

    /**
     * Every line of llama.cpp's test-tokenizer-0 vectors: encode without BOS and without parsing control
     * tokens (as that test calls common_tokenize(ctx, text, false, false)), and decode back to the input.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabularies")
    void reproducesLlamaCppTestVectors(String vocabFile) throws IOException {
        Path dir = SharedData.reference("tokenizer");
        List<String> inputs = readInputs(dir.resolve(vocabFile + ".inp"));
        List<String> outputs = Files.readAllLines(dir.resolve(vocabFile + ".out"), StandardCharsets.UTF_8);
        assertEquals(outputs.size(), inputs.size(), vocabFile + ": as many inputs as expected outputs");
        // WordPiece lowercases, strips accents and drops spaces, so its ids cannot give the input back.
        boolean roundTrips = !vocabFile.contains("bert");
        List<String> failures = new ArrayList<>();
        try (GgufFile gguf = GgufReader.read(dir.resolve(vocabFile))) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            for (int i = 0; i < inputs.size(); i++) {
                String input = inputs.get(i);
                String expectedLine = outputs.get(i).strip();
                int[] expected = expectedLine.isEmpty() ? new int[0]
                        : Arrays.stream(expectedLine.split(" ")).mapToInt(Integer::parseInt).toArray();
                int[] actual = tokenizer.encode(input, false, false);
                if (!Arrays.equals(expected, actual)) {
                    failures.add("case " + i + " " + printable(input) + ": expected " + Arrays.toString(expected)
                            + " got " + Arrays.toString(actual));
                } else if (roundTrips && !input.equals(tokenizer.decode(actual))) {
                    failures.add("case " + i + " " + printable(input) + " decodes to "
                            + printable(tokenizer.decode(actual)));
                }
            }
        }
        assertTrue(failures.isEmpty(), vocabFile + ": " + failures.size() + " of " + inputs.size()
                + " cases fail:\n" + String.join("\n", failures.subList(0, Math.min(10, failures.size()))));
    }

    /** The .inp format, split exactly as llama.cpp's test-tokenizer-0 does (a final separator ends the list). */
    static List<String> readInputs(Path file) throws IOException {
        String raw = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        String separator = "\n__ggml_vocab_test__\n";
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(separator, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + separator.length();
        }
        return inputs;
    }

    static Stream<Path> logitReferences() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("logits"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    /** Each model and prompt: the ids llama.cpp fed the model (add_special and parse_special on). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("logitReferences")
    void promptTokensMatchLlamaCpp(Path reference) throws IOException {
        String name = reference.getFileName().toString(); // <model>.<prompt>.json
        String model = name.substring(0, name.indexOf('.'));
        String prompt = name.substring(model.length() + 1, name.length() - ".json".length());
        JsonNode ref = new ObjectMapper().readTree(reference.toFile());
        int[] expected = new int[ref.get("prompt_tokens").size()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = ref.get("prompt_tokens").get(i).asInt();
        }
        String text = new String(Files.readAllBytes(SharedData.reference("prompts/" + prompt + ".txt")),
                StandardCharsets.UTF_8);
        try (GgufFile gguf = GgufReader.read(SharedData.model(model + ".gguf"))) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            int[] actual = tokenizer.encode(text, true, true);
            assertArrayEquals(expected, actual, name);
            assertEquals(tokenizer.bos(), actual[0], "starts with BOS");
            int[] withoutBos = Arrays.copyOfRange(actual, 1, actual.length);
            assertEquals(text, tokenizer.decode(withoutBos), "decodes back to the prompt");
        }
    }

    private static String printable(String s) {
        String p = s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
        return "'" + (p.length() > 60 ? p.substring(0, 60) + "…" : p) + "'";
    }
}
