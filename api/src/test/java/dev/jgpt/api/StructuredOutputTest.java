package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * response_format and tools through the real server on the real tiny models (random weights: the constraint
 * alone makes the output valid), checked with a JSON Schema validator, the OpenAI Java SDK and raw HTTP.
 */
class StructuredOutputTest {
    static final String QWEN = "tiny-qwen3-q8_0";
    static final String LLAMA3 = "tiny-llama3-q4_0";
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static final List<String> SCHEMAS_UNDER_TEST = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer"}},
             "required":["name","age"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"ok":{"type":"boolean"},"score":{"type":"number"},
             "note":{"type":["string","null"],"maxLength":12}},"required":["ok","score","note"],
             "additionalProperties":false}""",
            """
            {"type":"object","properties":{"color":{"enum":["red","green","blue"]},"n":{"const":3}},
             "required":["color","n"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"tags":{"type":"array","items":{"type":"string","maxLength":8},
             "minItems":1,"maxItems":3}},"required":["tags"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"point":{"type":"object","properties":{"x":{"type":"number"},
             "y":{"type":"number"}},"required":["x","y"],"additionalProperties":false},
             "label":{"anyOf":[{"type":"string","maxLength":5},{"type":"integer"},{"type":"null"}]}},
             "required":["point","label"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"matrix":{"type":"array","items":{"type":"array",
             "items":{"type":"integer"},"maxItems":3},"maxItems":2}},"required":["matrix"],
             "additionalProperties":false}""",
            """
            {"$defs":{"item":{"type":"object","properties":{"id":{"type":"integer"},"done":{"type":"boolean"}},
             "required":["id","done"],"additionalProperties":false}},"type":"object",
             "properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"},"maxItems":2}},
             "required":["items"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"title":{"type":"string","minLength":3,"maxLength":10},
             "meta":{"type":"object"}},"required":["title","meta"]}""",
            """
            {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":6},
             "c":{"type":"null"}},"required":["c"]}""",
            """
            {"type":"object","properties":{"answer":{"type":"string","maxLength":30}},"required":["answer"],
             "additionalProperties":false}""");

    @TempDir
    static Path modelDirectory;
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        List<Path> models = List.of(SharedData.model(QWEN + ".gguf"), SharedData.model(LLAMA3 + ".gguf"));
        server = TestServer.start(models, modelDirectory, 4096, 4);
        client = server.openAi();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(String body) throws Exception {
        return server.post("/v1/chat/completions", body);
    }

    static void assertValid(String schema, String output) throws Exception {
        JsonNode parsed = JSON.readTree(output);
        assertTrue(parsed.isObject(), output);
        var errors = SCHEMAS.getSchema(schema, InputFormat.JSON).validate(output, InputFormat.JSON);
        assertTrue(errors.isEmpty(), () -> errors + " in " + output + " for " + schema);
    }

    /** The answer's text, from a JSON response or by joining a stream's content deltas. */
    static String answer(HttpResponse<String> r, boolean stream) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        if (!stream) {
            JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
            assertEquals("stop", choice.get("finish_reason").asText(), r.body());
            return choice.get("message").get("content").asText();
        }
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode chunk : TestServer.sseData(r.body())) {
            JsonNode choices = chunk.get("choices");
            if (!choices.isEmpty()) {
                text.append(choices.get(0).get("delta").path("content").asText(""));
                if (!choices.get(0).get("finish_reason").isNull()) {
                    finish = choices.get(0).get("finish_reason").asText();
                }
            }
        }
        assertEquals("stop", finish, r.body());
        return text.toString();
    }

    @Test
    void jsonSchemaOutputsParseAndValidateInEveryOneOfSixtyRequests() throws Exception {
        double[] temperatures = {0, 0.7, 1.0, 1.5};
        int checked = 0;
        for (int i = 0; i < 50; i++) {
            String schema = SCHEMAS_UNDER_TEST.get(i % SCHEMAS_UNDER_TEST.size());
            String model = i % 2 == 0 ? QWEN : LLAMA3;
            boolean stream = i % 5 == 4;
            ObjectNode body = JSON.createObjectNode().put("model", model).put("max_tokens", 200)
                    .put("temperature", temperatures[i % 4]).put("seed", i).put("stream", stream);
            body.putArray("messages").addObject().put("role", "user").put("content", "Fill in the record #" + i);
            ObjectNode format = body.putObject("response_format").put("type", "json_schema");
            format.putObject("json_schema").put("name", "record").put("strict", i % 3 != 0)
                    .set("schema", JSON.readTree(schema));
            assertValid(schema, answer(post(body.toString()), stream));
            checked++;
        }
        for (int i = 0; i < 10; i++) {
            String schema = SCHEMAS_UNDER_TEST.get(i);
            ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model(i % 2 == 0 ? LLAMA3 : QWEN).addUserMessage("Describe it as JSON.").maxCompletionTokens(200)
                    .temperature(1.0).seed(100 + i)
                    .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(
                            ResponseFormatJsonSchema.JsonSchema.builder().name("thing").strict(true)
                                    .schema(JsonValue.from(JSON.readValue(schema, Map.class))).build()).build())
                    .build());
            assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.choices().getFirst().finishReason());
            assertValid(schema, c.choices().getFirst().message().content().orElseThrow());
            checked++;
        }
        assertEquals(60, checked);
    }

    @Test
    void jsonObjectIsAnObject() throws Exception {
        for (String model : List.of(QWEN, LLAMA3)) {
            String body = """
                    {"model": "%s", "messages": [{"role": "user", "content": "JSON please"}], "max_tokens": 120,
                     "temperature": 1.2, "seed": 5, "response_format": {"type": "json_object"}}""".formatted(model);
            assertTrue(JSON.readTree(answer(post(body), false)).isObject());
        }
    }

    @Test
    void unsupportedSchemaKeywordIsA400NamingIt() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "messages": [{"role": "user", "content": "x"}], "response_format": {"type":
                 "json_schema", "json_schema": {"name": "n", "schema": {"type": "object", "properties": {"s":
                 {"type": "string", "pattern": "^a$"}}}}}}""".formatted(QWEN));
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals("invalid_request_error", error.get("type").asText());
        assertEquals("response_format.json_schema.schema", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("'pattern'"), r.body());
    }

    static final String WEATHER_PARAMETERS = """
            {"type":"object","properties":{"city":{"type":"string","maxLength":20},
             "unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}""";

    static FunctionDefinition function(String name, String parameters) throws Exception {
        FunctionParameters.Builder p = FunctionParameters.builder();
        for (Map.Entry<String, Object> e : ((Map<String, Object>) JSON.readValue(parameters, Map.class)).entrySet()) {
            p.putAdditionalProperty(e.getKey(), JsonValue.from(e.getValue()));
        }
        return FunctionDefinition.builder().name(name).description("Tool " + name).parameters(p.build()).build();
    }

    @Test
    void forcedToolCallNamesAGivenToolWithValidArgumentsAndTheConversationContinues() throws Exception {
        String timeParameters = """
                {"type":"object","properties":{"zone":{"type":"string","maxLength":10}},"required":["zone"]}""";
        for (String model : List.of(QWEN, LLAMA3)) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(model)
                    .addUserMessage("What's the weather in Paris?").maxCompletionTokens(150).temperature(1.0).seed(3)
                    .addFunctionTool(function("get_weather", WEATHER_PARAMETERS))
                    .addFunctionTool(function("get_time", timeParameters))
                    .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();
            ChatCompletion c = client.chat().completions().create(params);
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
            List<com.openai.models.chat.completions.ChatCompletionMessageToolCall> calls =
                    choice.message().toolCalls().orElseThrow();
            assertEquals(1, calls.size());
            ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
            String name = call.function().name();
            assertTrue(name.equals("get_weather") || name.equals("get_time"), name);
            assertValid(name.equals("get_weather") ? WEATHER_PARAMETERS : timeParameters, call.function().arguments());
            assertTrue(call.id().startsWith("call_"), call.id());

            ChatCompletion next = client.chat().completions().create(params.toBuilder()
                    .addMessage(choice.message())
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id())
                            .content("{\"temperature\": 21}").build())
                    .toolChoice(ChatCompletionToolChoiceOption.Auto.AUTO).build());
            assertEquals(1, next.choices().size());
            assertTrue(next.usage().orElseThrow().promptTokens() > c.usage().orElseThrow().promptTokens(),
                    "the tool call and its result are part of the prompt");
        }
    }

    @Test
    void namedToolChoiceStreamsTheCallAsADelta() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", LLAMA3).put("max_tokens", 150).put("stream", true)
                .put("temperature", 0.8).put("seed", 9);
        body.putArray("messages").addObject().put("role", "user").put("content", "Weather in Rome?");
        ObjectNode tool = body.putArray("tools").addObject().put("type", "function");
        tool.putObject("function").put("name", "get_weather").set("parameters", JSON.readTree(WEATHER_PARAMETERS));
        body.putObject("tool_choice").put("type", "function").putObject("function").put("name", "get_weather");
        HttpResponse<String> r = post(body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode callDelta = null;
        String finish = null;
        for (JsonNode chunk : TestServer.sseData(r.body())) {
            JsonNode choice = chunk.get("choices").get(0);
            if (choice.get("delta").has("tool_calls")) {
                callDelta = choice.get("delta").get("tool_calls").get(0);
            }
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertEquals("tool_calls", finish, r.body());
        assertEquals(0, callDelta.get("index").asInt());
        assertEquals("function", callDelta.get("type").asText());
        assertEquals("get_weather", callDelta.get("function").get("name").asText());
        assertValid(WEATHER_PARAMETERS, callDelta.get("function").get("arguments").asText());
    }

    @Test
    void toolChoiceWithoutToolsAndUnknownNamesAre400s() throws Exception {
        HttpResponse<String> r = post("""
                {"model": "%s", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}"""
                .formatted(QWEN));
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("tool_choice", JSON.readTree(r.body()).get("error").get("param").asText());
        r = post("""
                {"model": "%s", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function",
                 "function": {"name": "f", "parameters": {"type": "object", "properties": {"d": {"type": "string",
                 "format": "date"}}}}}]}""".formatted(QWEN));
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals("tools[0].function.parameters", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("'format'"), r.body());
    }

    @Test
    void autoToolChoiceReadsCallsOnlyWhenTheModelMakesThem() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", QWEN).put("max_tokens", 8).put("temperature", 0);
        body.putArray("messages").addObject().put("role", "user").put("content", "Hi");
        body.putArray("tools").addObject().put("type", "function").putObject("function").put("name", "noop");
        HttpResponse<String> r = post(body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertNull(choice.get("message").get("tool_calls"), "random weights make no call: " + r.body());
        assertTrue(choice.get("finish_reason").asText().matches("stop|length"), r.body());
    }
}
