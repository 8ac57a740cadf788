package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code /v1/responses} through the official OpenAI Java SDK and, for the event framing, raw HTTP. */
class ResponsesTest {
    static final String MODEL = "tiny-qwen3-q8_0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start(List.of(SharedData.model(MODEL + ".gguf")), modelDirectory, 512, 4);
        client = server.openAi();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static ResponseCreateParams.Builder params(String input) {
        return ResponseCreateParams.builder().model(MODEL).input(input).maxOutputTokens(6).temperature(0.0);
    }

    static String text(Response r) {
        return r.output().getFirst().asMessage().content().getFirst().asOutputText().text();
    }

    static HttpResponse<String> post(String body) throws Exception {
        return server.post("/v1/responses", body);
    }

    static HttpResponse<String> send(String method, String path) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri(path)).method(method, HttpRequest.BodyPublishers.noBody())
                .build());
    }

    @Test
    void responseHasTheAnswerAndItsUsage() {
        Response r = client.responses().create(params("Hello! Who are you?").instructions("You are terse.").build());
        r.validate(); // every field the SDK requires is there, with the right type
        assertTrue(r.id().startsWith("resp_"), r.id());
        assertEquals(MODEL, r.model().asString());
        assertEquals("You are terse.", r.instructions().orElseThrow().asString());
        String status = r.status().orElseThrow().asString();
        var usage = r.usage().orElseThrow();
        assertTrue(usage.inputTokens() > 5);
        assertEquals(usage.inputTokens() + usage.outputTokens(), usage.totalTokens());
        if (status.equals("incomplete")) {
            assertEquals(6, usage.outputTokens());
            assertEquals("max_output_tokens", r.incompleteDetails().orElseThrow().reason().orElseThrow().asString());
        } else {
            assertEquals("completed", status);
        }
        assertFalse(text(r).isEmpty());
    }

    @Test
    void streamedDeltasAddUpToTheCompletedResponse() {
        StringBuilder deltas = new StringBuilder();
        Response completed = null;
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params("Hi").build())) {
            for (ResponseStreamEvent e : (Iterable<ResponseStreamEvent>) stream.stream()::iterator) {
                e.validate();
                if (e.isOutputTextDelta()) {
                    deltas.append(e.asOutputTextDelta().delta());
                } else if (e.isCompleted()) {
                    completed = e.asCompleted().response();
                } else if (e.isIncomplete()) {
                    completed = e.asIncomplete().response();
                }
            }
        }
        assertTrue(completed != null, "the stream ends with response.completed or response.incomplete");
        assertEquals(text(completed), deltas.toString());
        assertEquals(text(client.responses().create(params("Hi").build())), deltas.toString(),
                "greedy: streamed and unstreamed answers agree");
    }

    @Test
    void previousResponseIdContinuesTheConversation() {
        Response first = client.responses().create(params("My name is Ada.").build());
        Response second = client.responses().create(params("What is my name?").previousResponseId(first.id()).build());
        Response fresh = client.responses().create(params("What is my name?").build());
        long withHistory = second.usage().orElseThrow().inputTokens();
        long alone = fresh.usage().orElseThrow().inputTokens();
        assertTrue(withHistory > alone + first.usage().orElseThrow().outputTokens(),
                "the earlier turn and its answer are part of the prompt: " + withHistory + " vs " + alone);
        assertEquals(first.id(), second.previousResponseId().orElseThrow());

        BadRequestException e = assertThrows(BadRequestException.class, () -> client.responses().create(
                params("x").previousResponseId("resp_unknown").build()));
        assertEquals(400, e.statusCode());
        assertEquals("previous_response_id", e.param().orElseThrow());
        assertEquals("previous_response_not_found", e.code().orElseThrow());
    }

    @Test
    void storedResponsesCanBeReadAndDeleted() throws Exception {
        Response kept = client.responses().create(params("Keep this").build());
        assertEquals(kept.id(), client.responses().retrieve(kept.id()).id());
        assertEquals(200, send("DELETE", "/v1/responses/" + kept.id()).statusCode());
        assertEquals(404, send("GET", "/v1/responses/" + kept.id()).statusCode());

        Response unstored = client.responses().create(params("Forget this").store(false).build());
        assertEquals(404, send("GET", "/v1/responses/" + unstored.id()).statusCode());
        HttpResponse<String> r = post("""
                {"model": "%s", "input": "again", "previous_response_id": "%s"}""".formatted(MODEL, unstored.id()));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"previous_response_not_found\""), r.body());
    }

    @Test
    void streamIsFramedAsNamedEventsWithSequenceNumbers() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "stream": true, "max_output_tokens": 4, "temperature": 0,
                 "instructions": "Be brief.",
                 "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                           {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
                           {"role": "user", "content": "Again"}]}""".formatted(MODEL));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        assertTrue(r.body().endsWith("\n\n"));
        List<String> types = new ArrayList<>();
        String[] events = r.body().split("\n\n");
        for (int i = 0; i < events.length; i++) {
            String[] lines = events[i].split("\n");
            assertEquals(2, lines.length, "an event line and a data line: " + events[i]);
            assertTrue(lines[0].startsWith("event: ") && lines[1].startsWith("data: "), events[i]);
            JsonNode data = JSON.readTree(lines[1].substring("data: ".length()));
            String type = lines[0].substring("event: ".length());
            assertEquals(type, data.get("type").asText());
            assertEquals(i, data.get("sequence_number").asInt());
            types.add(type);
        }
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added"), types.subList(0, 4));
        assertEquals(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done"),
                types.subList(types.size() - 4, types.size() - 1));
        String last = types.getLast();
        assertTrue(last.equals("response.completed") || last.equals("response.incomplete"), last);
        for (String t : types.subList(4, types.size() - 4)) {
            assertEquals("response.output_text.delta", t);
        }
    }

    @Test
    void textFormatJsonSchemaConstrainsTheAnswer() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "input": "A person, please", "max_output_tokens": 60, "temperature": 1.0, "seed": 3,
                 "text": {"format": {"type": "json_schema", "name": "person", "strict": true, "schema": {
                   "type": "object", "additionalProperties": false, "required": ["name", "age"],
                   "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}}}}}}"""
                .formatted(MODEL));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode response = JSON.readTree(r.body());
        assertEquals("json_schema", response.at("/text/format/type").asText(), "the format is echoed");
        JsonNode answer = JSON.readTree(response.at("/output/0/content/0/text").asText());
        assertTrue(answer.get("name").isTextual(), answer.toString());
        assertTrue(answer.get("age").isIntegralNumber(), answer.toString());
        assertEquals(2, answer.size());

        HttpResponse<String> bad = post("""
                {"model": "%s", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}"""
                .formatted(MODEL));
        assertEquals(400, bad.statusCode());
        assertEquals("text.format.schema", JSON.readTree(bad.body()).at("/error/param").asText());
    }

    static final String WEATHER_TOOL = """
            {"type": "function", "name": "get_weather", "description": "Weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}},
                            "required": ["city"], "additionalProperties": false}, "strict": true}""";

    @Test
    void aRequiredToolCallBecomesAFunctionCallItemAndItsResultContinuesTheConversation() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "input": "Weather in Paris?", "max_output_tokens": 60, "seed": 1,
                 "tools": [%s], "tool_choice": "required"}""".formatted(MODEL, WEATHER_TOOL));
        assertEquals(200, r.statusCode(), r.body());
        Response sdk = ObjectMappers.jsonMapper().readValue(r.body(), Response.class);
        sdk.validate(); // the SDK accepts the function_call item
        var call = sdk.output().getLast().asFunctionCall();
        assertEquals("get_weather", call.name());
        assertTrue(JSON.readTree(call.arguments()).get("city").isTextual(), call.arguments());
        assertEquals("completed", sdk.status().orElseThrow().asString());
        assertEquals("required", JSON.readTree(r.body()).get("tool_choice").asText());

        HttpResponse<String> next = post("""
                {"model": "%s", "previous_response_id": "%s", "max_output_tokens": 4, "tools": [%s],
                 "input": [{"type": "function_call_output", "call_id": "%s", "output": "{\\"celsius\\": 21}"}]}"""
                .formatted(MODEL, sdk.id(), WEATHER_TOOL, call.callId()));
        assertEquals(200, next.statusCode(), next.body());
        JsonNode answer = JSON.readTree(next.body());
        assertTrue(answer.at("/usage/input_tokens").asInt() > sdk.usage().orElseThrow().inputTokens(),
                "the call and its result are in the prompt: " + next.body());

        // The same history sent explicitly, without a stored response.
        HttpResponse<String> explicit = post("""
                {"model": "%s", "max_output_tokens": 4, "tools": [%s], "input": [
                  {"role": "user", "content": "Weather in Paris?"},
                  {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"},
                  {"type": "function_call_output", "call_id": "call_1", "output": "21 C"}]}"""
                .formatted(MODEL, WEATHER_TOOL));
        assertEquals(200, explicit.statusCode(), explicit.body());
    }

    @Test
    void aStreamedToolCallArrivesAsArgumentEvents() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "input": "Weather in Oslo?", "max_output_tokens": 60, "seed": 2, "stream": true,
                 "tools": [%s], "tool_choice": {"type": "function", "name": "get_weather"}}"""
                .formatted(MODEL, WEATHER_TOOL));
        assertEquals(200, r.statusCode(), r.body());
        List<String> types = new ArrayList<>();
        JsonNode argumentsDone = null;
        JsonNode completed = null;
        String[] events = r.body().split("\n\n");
        for (int i = 0; i < events.length; i++) {
            JsonNode data = JSON.readTree(events[i].split("\n")[1].substring("data: ".length()));
            assertEquals(i, data.get("sequence_number").asInt());
            types.add(data.get("type").asText());
            if (data.get("type").asText().equals("response.function_call_arguments.done")) {
                argumentsDone = data;
            } else if (data.get("type").asText().equals("response.completed")) {
                completed = data.get("response");
            }
        }
        assertTrue(types.contains("response.function_call_arguments.delta"), types.toString());
        assertTrue(argumentsDone != null, types.toString());
        assertEquals("get_weather", argumentsDone.get("name").asText());
        assertTrue(JSON.readTree(argumentsDone.get("arguments").asText()).has("city"));
        assertTrue(completed != null, types.toString());
        assertEquals("function_call", completed.at("/output/0/type").asText());
        assertEquals(argumentsDone.get("item_id").asText(), completed.at("/output/0/id").asText());
    }

    @Test
    void badInputIsRefusedNamingTheField() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}"""
                .formatted(MODEL));
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("input[0].content[0].type", JSON.readTree(r.body()).at("/error/param").asText());
        HttpResponse<String> missing = post("{\"model\": \"%s\"}".formatted(MODEL));
        assertEquals(400, missing.statusCode());
        assertEquals("input", JSON.readTree(missing.body()).at("/error/param").asText());
    }
}
