package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Ollama-compatible endpoints, checked on the wire with a plain HTTP client and a real tiny model. */
class OllamaApiTest {
    static final String MODEL = "tiny-qwen3-q8_0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        Files.copy(SharedData.model(MODEL + ".gguf"), modelDirectory.resolve(MODEL + ".gguf"));
        server = TestServer.start(List.of(), modelDirectory, 512, 4);
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

    static JsonNode json(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.body());
        return JSON.readTree(r.body());
    }

    /** NDJSON lines, each checked to be one JSON object. */
    static List<JsonNode> lines(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/x-ndjson"));
        assertTrue(r.body().endsWith("\n"));
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    @Test
    void tagsListTheModelWithItsFileFacts() throws Exception {
        JsonNode models = json(get("/api/tags"), 200).get("models");
        assertEquals(1, models.size());
        JsonNode m = models.get(0);
        assertEquals(MODEL + ":latest", m.get("name").asText());
        assertEquals(MODEL + ":latest", m.get("model").asText());
        Path file = modelDirectory.resolve(MODEL + ".gguf");
        assertEquals(Files.size(file), m.get("size").asLong());
        String digest = m.get("digest").asText();
        assertTrue(digest.matches("[0-9a-f]{64}"), digest);
        assertFalse(m.get("modified_at").asText().isEmpty());
        JsonNode d = m.get("details");
        assertEquals("gguf", d.get("format").asText());
        assertEquals("qwen3", d.get("family").asText());
        assertEquals("Q8_0", d.get("quantization_level").asText());
        assertTrue(d.get("parameter_size").asText().endsWith("M"), d.toString());

        // A new version of the file gets a new digest.
        Files.setLastModifiedTime(file, FileTime.from(Files.getLastModifiedTime(file).toInstant().minusSeconds(60)));
        JsonNode changed = json(get("/api/tags"), 200).at("/models/0");
        assertFalse(digest.equals(changed.get("digest").asText()));
        assertEquals(m.get("size"), changed.get("size"));
    }

    @Test
    void showAndVersion() throws Exception {
        JsonNode show = json(post("/api/show", "{\"model\": \"" + MODEL + "\"}"), 200);
        assertEquals("qwen3", show.at("/model_info/general.architecture").asText());
        assertEquals("qwen3", show.at("/details/family").asText());
        assertTrue(show.has("template"));
        assertFalse(json(get("/api/version"), 200).get("version").asText().isEmpty());
    }

    @Test
    void chatStreamsLinesAndEndsWithStatistics() throws Exception {
        String request = """
                {"model": "%s:latest", "messages": [{"role": "user", "content": "Hi"}],
                 "options": {"temperature": 0, "num_predict": 5}%s}""";
        List<JsonNode> lines = lines(post("/api/chat", request.formatted(MODEL, "")));
        StringBuilder text = new StringBuilder();
        for (JsonNode line : lines.subList(0, lines.size() - 1)) {
            assertFalse(line.get("done").asBoolean());
            assertEquals("assistant", line.at("/message/role").asText());
            assertEquals(MODEL + ":latest", line.get("model").asText());
            text.append(line.at("/message/content").asText());
        }
        JsonNode last = lines.getLast();
        assertTrue(last.get("done").asBoolean());
        String reason = last.get("done_reason").asText();
        assertTrue(reason.equals("stop") || reason.equals("length"), reason);
        assertTrue(last.get("prompt_eval_count").asInt() > 1);
        assertTrue(last.get("eval_count").asInt() >= 1 && last.get("eval_count").asInt() <= 5);
        for (String field : List.of("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")) {
            assertTrue(last.get(field).isIntegralNumber(), field + " in nanoseconds: " + last);
        }
        assertTrue(last.get("total_duration").asLong() >= last.get("eval_duration").asLong());

        JsonNode whole = json(post("/api/chat", request.formatted(MODEL, ", \"stream\": false")), 200);
        assertTrue(whole.get("done").asBoolean());
        assertEquals(text.toString(), whole.at("/message/content").asText(), "greedy: streamed and whole agree");
        assertEquals(last.get("eval_count"), whole.get("eval_count"));
    }

    @Test
    void generateAnswersAPromptWithOptions() throws Exception {
        JsonNode r = json(post("/api/generate", """
                {"model": "%s", "prompt": "The sky is", "stream": false,
                 "options": {"temperature": 0.7, "top_k": 20, "top_p": 0.9, "seed": 42, "num_predict": 4, "stop": ["\\n\\n"]}}"""
                .formatted(MODEL)), 200);
        assertTrue(r.get("done").asBoolean());
        assertTrue(r.get("eval_count").asInt() <= 4);
        JsonNode again = json(post("/api/generate", """
                {"model": "%s", "prompt": "The sky is", "stream": false,
                 "options": {"temperature": 0.7, "top_k": 20, "top_p": 0.9, "seed": 42, "num_predict": 4, "stop": ["\\n\\n"]}}"""
                .formatted(MODEL)), 200);
        assertEquals(r.get("response"), again.get("response"), "same seed, same answer");

        JsonNode raw = json(post("/api/generate", """
                {"model": "%s", "prompt": "The sky is", "raw": true, "stream": false, "options": {"num_predict": 3}}"""
                .formatted(MODEL)), 200);
        assertTrue(raw.get("prompt_eval_count").asInt() < r.get("prompt_eval_count").asInt(),
                "raw skips the chat template");

        List<JsonNode> streamed = lines(post("/api/generate", """
                {"model": "%s", "prompt": "Hi", "options": {"num_predict": 3}}""".formatted(MODEL)));
        assertTrue(streamed.getLast().get("done").asBoolean());
        assertTrue(streamed.getFirst().has("response"));

        JsonNode load = json(post("/api/generate", "{\"model\": \"" + MODEL + "\"}"), 200);
        assertEquals("load", load.get("done_reason").asText());
    }

    @Test
    void formatConstrainsTheAnswerToJson() throws Exception {
        JsonNode any = json(post("/api/generate", """
                {"model": "%s", "prompt": "JSON please", "format": "json", "stream": false,
                 "options": {"temperature": 1.0, "seed": 7, "num_predict": 60}}""".formatted(MODEL)), 200);
        assertTrue(JSON.readTree(any.get("response").asText()).isObject(), any.toString());

        JsonNode typed = json(post("/api/chat", """
                {"model": "%s", "messages": [{"role": "user", "content": "A city"}], "stream": false,
                 "format": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10}},
                            "required": ["city"]},
                 "options": {"temperature": 1.0, "seed": 7, "num_predict": 60}}""".formatted(MODEL)), 200);
        JsonNode answer = JSON.readTree(typed.at("/message/content").asText());
        assertTrue(answer.get("city").isTextual(), answer.toString());

        JsonNode bad = json(post("/api/chat", """
                {"model": "%s", "messages": [{"role": "user", "content": "x"}], "format": 3}""".formatted(MODEL)), 400);
        assertTrue(bad.get("error").asText().contains("format"), bad.toString());
    }

    @Test
    void toolCallsComeBackWithArgumentsAsObjects() throws Exception {
        // A random-weight model never calls a tool of its own accord: a scripted one answers with a call.
        Path directory = Files.createDirectories(modelDirectory.resolve("scripted"));
        Files.writeString(directory.resolve("caller.gguf"), "not read: the loader is scripted");
        TextModel caller = new ToolCallingTextModel(
                "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>");
        String request = """
                {"model": "caller", "stream": %s, "tools": [{"type": "function", "function": {"name": "get_weather",
                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                 "messages": [{"role": "user", "content": "Weather in Rome?"},
                   {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather",
                     "arguments": {"city": "Rome"}}}]},
                   {"role": "tool", "tool_name": "get_weather", "content": "24 C"},
                   {"role": "user", "content": "And in Oslo?"}]}""";
        ServerConfig config = new ServerConfig("127.0.0.1", 0, List.of(), directory, 4096, 4);
        try (TestServer scripted = TestServer.start(config, file -> caller)) {
            HttpResponse<String> whole = scripted.post("/api/chat", request.formatted("false"));
            JsonNode answer = json(whole, 200);
            assertEquals("Let me check.", answer.at("/message/content").asText());
            assertEquals("get_weather", answer.at("/message/tool_calls/0/function/name").asText());
            assertEquals("Oslo", answer.at("/message/tool_calls/0/function/arguments/city").asText(), answer.toString());
            assertEquals("stop", answer.get("done_reason").asText());

            List<JsonNode> lines = lines(scripted.post("/api/chat", request.formatted("true")));
            assertEquals(2, lines.size(), "the answer is held back and sent whole, then the done line: " + lines);
            assertEquals("Oslo", lines.getFirst().at("/message/tool_calls/0/function/arguments/city").asText());
            assertFalse(lines.getFirst().at("/message").has("images"), "absent fields are left out");
            assertTrue(lines.getLast().get("done").asBoolean());
        }
    }

    @Test
    void errorsHaveOllamasShape() throws Exception {
        JsonNode missing = json(post("/api/chat", """
                {"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}"""), 404);
        assertEquals("model 'nope' not found", missing.get("error").asText());
        assertEquals(1, missing.size());
        JsonNode badOption = json(post("/api/generate", """
                {"model": "%s", "prompt": "x", "options": {"temperature": "hot"}}""".formatted(MODEL)), 400);
        assertTrue(badOption.get("error").asText().contains("temperature"), badOption.toString());
        json(post("/api/show", "{\"model\": \"nope\"}"), 404);
    }
}
