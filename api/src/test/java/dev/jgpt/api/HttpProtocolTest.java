package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Wire-level contracts checked with a plain HTTP client: SSE framing, error shapes, status codes, queue. */
class HttpProtocolTest {
    static final String MODEL = "tiny-qwen3-q8_0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;

    @BeforeAll
    static void start() throws IOException {
        // The model is served from the directory, as `jgpt serve` with no --model does; queue of 0 for the 429 test.
        Files.copy(SharedData.model(MODEL + ".gguf"), modelDirectory.resolve(MODEL + ".gguf"));
        server = TestServer.start(List.of(), modelDirectory, 512, 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return server.post(path, body);
    }

    static HttpResponse<String> get(String path) throws Exception {
        return server.get(path);
    }

    /** Asserts OpenAI's error shape and returns the error object. */
    static JsonNode error(HttpResponse<String> r, int status) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode root = JSON.readTree(r.body());
        assertEquals(1, root.size(), "only 'error' at the top: " + r.body());
        JsonNode e = root.get("error");
        assertNotNull(e, r.body());
        for (String field : List.of("message", "type", "param", "code")) {
            assertTrue(e.has(field), "error." + field + " is present (null allowed): " + r.body());
        }
        assertFalse(e.get("message").asText().isBlank());
        return e;
    }

    @Test
    void streamIsFramedAsServerSentEvents() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", """
                {"model": "%s", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                 "stream": true, "max_tokens": 6, "temperature": 0}""".formatted(MODEL));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        String body = r.body();
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        String[] events = body.split("\n\n");
        List<JsonNode> chunks = new ArrayList<>();
        for (int i = 0; i < events.length; i++) {
            assertTrue(events[i].startsWith("data: "), "event " + i + " is one data line: " + events[i]);
            assertFalse(events[i].contains("\n"), "one line per event");
            if (i < events.length - 1) {
                chunks.add(JSON.readTree(events[i].substring("data: ".length())));
            }
        }
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asText());
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertFalse(c.has("usage"), "no usage unless stream_options.include_usage");
        }
        String finish = chunks.getLast().at("/choices/0/finish_reason").asText();
        assertTrue(finish.equals("stop") || finish.equals("length"), finish);
    }

    @Test
    void completionStreamEndsWithUsageWhenAsked() throws Exception {
        HttpResponse<String> r = post("/v1/completions", """
                {"model": "%s", "prompt": "The sky is", "stream": true, "max_tokens": 3,
                 "stream_options": {"include_usage": true}}""".formatted(MODEL));
        assertEquals(200, r.statusCode(), r.body());
        String[] events = r.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        JsonNode usageChunk = JSON.readTree(events[events.length - 2].substring("data: ".length()));
        assertEquals(0, usageChunk.get("choices").size());
        assertTrue(usageChunk.at("/usage/total_tokens").asInt() > 0);
    }

    @Test
    void sameSeedSamplesTheSameAnswer() throws Exception {
        String request = """
                {"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
                 "temperature": 1.0, "top_p": 0.9, "seed": %d, "presence_penalty": 0.5}""";
        String first = JSON.readTree(post("/v1/chat/completions", request.formatted(MODEL, 42)).body())
                .at("/choices/0/message/content").asText();
        String again = JSON.readTree(post("/v1/chat/completions", request.formatted(MODEL, 42)).body())
                .at("/choices/0/message/content").asText();
        assertEquals(first, again);
    }

    @Test
    void malformedJsonIsA400WithoutParam() throws Exception {
        JsonNode e = error(post("/v1/chat/completions", "{\"model\": \"x\", \"messages\": [ "), 400);
        assertEquals("invalid_request_error", e.get("type").asText());
        assertTrue(e.get("param").isNull());
        assertTrue(e.get("message").asText().contains("JSON"));
    }

    @Test
    void missingMessagesNamesTheField() throws Exception {
        JsonNode e = error(post("/v1/chat/completions", "{\"model\": \"" + MODEL + "\"}"), 400);
        assertEquals("invalid_request_error", e.get("type").asText());
        assertEquals("messages", e.get("param").asText());
    }

    @Test
    void wrongTypesNameTheField() throws Exception {
        JsonNode e = error(post("/v1/chat/completions", """
                {"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "temperature": "hot"}""".formatted(MODEL)), 400);
        assertEquals("temperature", e.get("param").asText());
        assertTrue(e.get("message").asText().contains("number"), e.toString());

        e = error(post("/v1/chat/completions", """
                {"model": "%s", "messages": [{"role": "user", "content": 42}]}""".formatted(MODEL)), 400);
        assertEquals("messages[0].content", e.get("param").asText());

        e = error(post("/v1/chat/completions", """
                {"model": "%s", "messages": [{"role": "robot", "content": "Hi"}]}""".formatted(MODEL)), 400);
        assertEquals("messages[0].role", e.get("param").asText());

        e = error(post("/v1/chat/completions", """
                {"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2.5}""".formatted(MODEL)), 400);
        assertEquals("max_tokens", e.get("param").asText());

        e = error(post("/v1/chat/completions", """
                {"model": "%s", "messages": "Hi"}""".formatted(MODEL)), 400);
        assertEquals("messages", e.get("param").asText());

        e = error(post("/v1/completions", """
                {"model": "%s", "prompt": "Hi", "top_p": 3}""".formatted(MODEL)), 400);
        assertEquals("top_p", e.get("param").asText());
    }

    @Test
    void unknownModelAndEndpointAre404s() throws Exception {
        JsonNode e = error(post("/v1/completions", "{\"model\": \"nope\", \"prompt\": \"Hi\"}"), 404);
        assertEquals("model_not_found", e.get("code").asText());
        error(get("/v1/no-such-endpoint"), 404);
        error(get("/v1/models/nope"), 404);
    }

    @Test
    void fullQueueAnswers429WithRetryAfter() throws Exception {
        // Queue capacity 0: while this test holds every one of the model's turns, a request is refused, not queued.
        try (ServedModel.Slot ignored = server.server().models().find(MODEL).acquire()) {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": \"Hi\"}");
            JsonNode e = error(r, 429);
            assertEquals("rate_limit_exceeded", e.get("type").asText());
            assertTrue(Integer.parseInt(r.headers().firstValue("Retry-After").orElseThrow()) >= 1);
        }
        assertEquals(200, post("/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": \"Hi\", \"max_tokens\": 1}")
                .statusCode(), "the turns are free again");
    }

    @Test
    void healthAndModelsFromTheDirectory() throws Exception {
        HttpResponse<String> h = get("/health");
        assertEquals(200, h.statusCode());
        assertEquals("ok", JSON.readTree(h.body()).get("status").asText());
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertEquals("list", models.get("object").asText());
        assertEquals(MODEL, models.at("/data/0/id").asText());
        assertEquals("model", models.at("/data/0/object").asText());
    }
}
