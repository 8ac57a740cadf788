package dev.jgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.ReferenceLogits;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command-line contracts of run, tokenize and logits, driven through {@link Main#execute}. */
class CommandsTest {

    record Outcome(int exitCode, String out, String err) {
    }

    static synchronized Outcome jgpt(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static Stream<Path> referenceFiles() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("logits"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("referenceFiles")
    void logitsCommandAgreesWithLlamaCpp(Path reference) throws IOException {
        String name = reference.getFileName().toString();
        String[] parts = name.split("\\.");
        String model = parts[0];
        String prompt = parts[1];
        Outcome o = jgpt("logits", "--model", SharedData.model(model + ".gguf").toString(),
                "--prompt-file", SharedData.reference("prompts/" + prompt + ".txt").toString(),
                "--steps", "24", "--top", "40");
        assertEquals(0, o.exitCode(), o.err());
        ObjectMapper json = new ObjectMapper();
        JsonNode expected = json.readTree(reference.toFile());
        JsonNode actual = json.readTree(o.out());
        assertEquals(24, actual.get("steps").size());
        assertEquals(40, actual.get("steps").get(0).get("top").size());
        List<String> problems = ReferenceLogits.disagreements(expected, actual, ReferenceLogits.tolerance(model));
        assertTrue(problems.isEmpty(), name + ": " + problems.size() + " disagreements: "
                + problems.subList(0, Math.min(5, problems.size())));
    }

    @Test
    void tokenizePrintsTheReferencePromptTokens() throws IOException {
        Outcome o = jgpt("tokenize", "--model", SharedData.model("tiny-llama3-q4_0.gguf").toString(),
                "--file", SharedData.reference("prompts/zh.txt").toString());
        assertEquals(0, o.exitCode(), o.err());
        JsonNode expected = new ObjectMapper().readTree(SharedData.reference("logits/tiny-llama3-q4_0.zh.json").toFile());
        assertEquals(expected.get("prompt_tokens"), new ObjectMapper().readTree(o.out()));
    }

    @Test
    void runStreamsAReproducibleAnswer() {
        String model = SharedData.model("tiny-qwen3-q8_0.gguf").toString();
        Outcome first = jgpt("run", "--model", model, "--prompt", "Hello", "--seed", "7", "--max-tokens", "12");
        Outcome second = jgpt("run", "--model", model, "--prompt", "Hello", "--seed", "7", "--max-tokens", "12");
        assertEquals(0, first.exitCode(), first.err());
        assertFalse(first.out().isBlank(), "an answer was printed");
        assertEquals(first.out(), second.out(), "same seed, same answer");
        Outcome greedy = jgpt("run", "--model", model, "--prompt", "Hello", "--temperature", "0", "--max-tokens", "5",
                "--system", "Be brief.");
        assertEquals(0, greedy.exitCode(), greedy.err());
    }

    @Test
    void aPromptLongerThanTheContextIsRefusedClearly() {
        Outcome o = jgpt("run", "--model", SharedData.model("tiny-llama-q8_0.gguf").toString(),
                "--prompt", "word ".repeat(2000), "--max-tokens", "4");
        assertEquals(Main.EXIT_INPUT_ERROR, o.exitCode());
        assertTrue(o.err().contains("context"), o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace: " + o.err());
    }

    @Test
    void aBadModelFileIsRefusedWithTheReason(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("notes.gguf");
        Files.writeString(bad, "this is not a model");
        Outcome o = jgpt("run", "--model", bad.toString(), "--prompt", "hi");
        assertNotEquals(0, o.exitCode());
        assertTrue(o.err().contains("not a GGUF file"), o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace: " + o.err());

        Path truncated = dir.resolve("truncated.gguf");
        byte[] real = Files.readAllBytes(SharedData.model("tiny-qwen3-q8_0.gguf"));
        Files.write(truncated, java.util.Arrays.copyOf(real, real.length / 2));
        Outcome t = jgpt("logits", "--model", truncated.toString(), "--prompt-file",
                SharedData.reference("prompts/en.txt").toString());
        assertNotEquals(0, t.exitCode());
        assertTrue(t.err().contains("truncated"), t.err());

        Outcome missing = jgpt("tokenize", "--model", dir.resolve("nope.gguf").toString(), "--file", bad.toString());
        assertNotEquals(0, missing.exitCode());
        assertTrue(missing.err().contains("not found"), missing.err());
    }

    @Test
    void benchReportsSpeedsAsJson() throws IOException {
        Outcome o = jgpt("bench", "--model", SharedData.model("tiny-qwen3-q8_0.gguf").toString(), "--prompt-tokens",
                "16", "--gen-tokens", "4", "--repetitions", "1", "--batch", "2", "--threads", "2", "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode r = new ObjectMapper().readTree(o.out());
        for (String key : List.of("pp_tps", "tg_tps", "batch", "batch_tg_tps", "tg_after_batch_tps", "threads",
                "model")) {
            assertTrue(r.has(key), "missing " + key + " in " + o.out());
        }
        assertTrue(r.get("pp_tps").asDouble() > 0 && r.get("tg_tps").asDouble() > 0
                && r.get("tg_after_batch_tps").asDouble() > 0, o.out());
        assertEquals(2, r.get("batch").asInt());
        assertEquals("tiny-qwen3-q8_0", r.get("model").asText(), "the file's name, not the metadata's");
    }

    @Test
    void interactiveChatKeepsTheConversation() {
        java.io.InputStream oldIn = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("Hello\nAnd again\n/bye\n".getBytes(StandardCharsets.UTF_8)));
            Outcome o = jgpt("run", "--model", SharedData.model("tiny-llama3-q4_0.gguf").toString(), "--max-tokens",
                    "3", "--seed", "1", "--verbose");
            assertEquals(0, o.exitCode(), o.err());
            assertEquals(3, o.out().split(">>> ", -1).length - 1, "a prompt for each turn and the final /bye");
            assertTrue(o.err().matches("(?s).*\\(([1-9][0-9]*) cached\\).*"), "the second turn reuses the cache: " + o.err());
        } finally {
            System.setIn(oldIn);
        }
    }

    @Test
    void unknownOptionsAreUsageErrors() {
        Outcome o = jgpt("run", "--no-such-option");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("no-such-option"), o.err());
    }
}
