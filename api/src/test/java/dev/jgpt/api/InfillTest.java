package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.generate.FinishReason;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code suffix} on /v1/completions: a model with fill-in-the-middle tokens gets the infill prompt, one
 * without is refused with a 400 naming {@code suffix}. (The prompt's token layout is tested in the engine.)
 */
class InfillTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A model whose infill prompt is recognisable, recording the prompt it is asked to continue. */
    static final class InfillModel implements TextModel {
        final AtomicReference<int[]> lastPrompt = new AtomicReference<>();

        @Override
        public int contextSize() {
            return 512;
        }

        @Override
        public int vocabularySize() {
            return 100;
        }

        @Override
        public int[] chatPrompt(List<Map<String, Object>> messages) {
            return new int[] {1};
        }

        @Override
        public int[] textPrompt(String text) {
            return new int[] {1, 2};
        }

        @Override
        public void close() {
        }

        @Override
        public int[] infillPrompt(String prefix, String suffix) {
            return new int[] {7, prefix.length(), 8, suffix.length(), 9};
        }

        @Override
        public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
            lastPrompt.set(prompt);
            onText.accept("middle");
            return new GenerationResult("middle", FinishReason.STOP, prompt.length, 0, 1, 0, 0);
        }
    }

    @TempDir
    static Path modelDirectory;
    static final InfillModel model = new InfillModel();
    static TestServer scripted;
    static TestServer real;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(modelDirectory.resolve("coder.gguf"), "stand-in");
        scripted = TestServer.start(new ServerConfig("127.0.0.1", 0, List.of(), modelDirectory, 512, 4), file -> model);
        real = TestServer.start(List.of(SharedData.model("tiny-llama-q8_0.gguf")), modelDirectory.resolve("none"),
                512, 4);
    }

    @AfterAll
    static void stop() {
        scripted.close();
        real.close();
    }

    static HttpResponse<String> post(TestServer server, String body) throws Exception {
        return server.post("/v1/completions", body);
    }

    @Test
    void suffixAsksTheModelForTheMiddle() throws Exception {
        HttpResponse<String> r = post(scripted, """
                {"model": "coder", "prompt": "def add(a, b):\\n    ", "suffix": "\\n\\nprint(add(1, 2))",
                 "max_tokens": 8}""");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(new int[] {7, 19, 8, 18, 9}, model.lastPrompt.get(), Arrays.toString(model.lastPrompt.get()));
        assertEquals("middle", JSON.readTree(r.body()).get("choices").get(0).get("text").asText());
    }

    @Test
    void suffixWithEchoIsRefused() throws Exception {
        HttpResponse<String> r = post(scripted, """
                {"model": "coder", "prompt": "a", "suffix": "b", "echo": true}""");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("echo", JSON.readTree(r.body()).get("error").get("param").asText());
    }

    @Test
    void suffixNeedsATextPrompt() throws Exception {
        HttpResponse<String> r = post(scripted, """
                {"model": "coder", "prompt": [1, 2, 3], "suffix": "b"}""");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("suffix", JSON.readTree(r.body()).get("error").get("param").asText());
    }

    @Test
    void aModelWithoutFimTokensRefusesSuffixClearly() throws Exception {
        HttpResponse<String> r = post(real, """
                {"model": "tiny-llama-q8_0", "prompt": "def f(", "suffix": "return x", "max_tokens": 4}""");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals("suffix", error.get("param").asText());
        assertEquals("invalid_request_error", error.get("type").asText());
        assertTrue(error.get("message").asText().contains("fill-in-the-middle"), error.toString());
    }
}
