package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /v1/embeddings} through the OpenAI Java SDK and raw HTTP. */
class EmbeddingsTest {
    static final String MODEL = "tiny-qwen3-q8_0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start(List.of(SharedData.model(MODEL + ".gguf")), modelDirectory, 64, 4);
        client = server.openAi();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(String body) throws Exception {
        return server.post("/v1/embeddings", body);
    }

    @Test
    void sdkGetsOneUnitVectorPerInputWithUsage() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfStrings(List.of("hello world", "a cat sat on the mat", "hello world")).build());
        assertEquals(MODEL, r.model());
        assertEquals(3, r.data().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, r.data().get(i).index());
            List<Float> v = r.data().get(i).embedding();
            assertEquals(256, v.size());
            double norm = 0;
            for (float f : v) {
                norm += f * f;
            }
            assertEquals(1.0, Math.sqrt(norm), 1e-4);
        }
        assertEquals(r.data().get(0).embedding(), r.data().get(2).embedding());
        assertTrue(!r.data().get(0).embedding().equals(r.data().get(1).embedding()));
        assertTrue(r.usage().promptTokens() >= 6);
        assertEquals(r.usage().promptTokens(), r.usage().totalTokens());
    }

    @Test
    void base64IsLittleEndianFloatsOfTheSameVector() throws Exception {
        JsonNode floats = JSON.readTree(post("""
                {"model": "%s", "input": "hello world"}""".formatted(MODEL)).body());
        JsonNode base64 = JSON.readTree(post("""
                {"model": "%s", "input": "hello world", "encoding_format": "base64"}""".formatted(MODEL)).body());
        assertEquals("list", floats.get("object").asText());
        assertEquals("embedding", floats.get("data").get(0).get("object").asText());
        JsonNode expected = floats.get("data").get(0).get("embedding");
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64.get("data").get(0).get("embedding")
                .asText())).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(expected.size() * 4, bytes.remaining());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals((float) expected.get(i).asDouble(), bytes.getFloat(), 0f);
        }
    }

    @Test
    void tokenInputsEmbedTheSameAsTheirText() throws Exception {
        JsonNode text = JSON.readTree(post("""
                {"model": "%s", "input": "hello"}""".formatted(MODEL)).body());
        int tokens = text.get("usage").get("prompt_tokens").asInt();
        CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfTokens(List.of(1L, 22172L)).build());
        CreateEmbeddingResponse many = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfTokenArrays(List.of(List.of(1L, 22172L), List.of(1L))).build());
        // "hello" is BOS and "▁hello" (22172) in the Llama 2 vocabulary.
        assertEquals(2, tokens);
        List<Float> fromText = new ArrayList<>();
        text.get("data").get(0).get("embedding").forEach(f -> fromText.add((float) f.asDouble()));
        assertEquals(fromText, one.data().getFirst().embedding());
        assertEquals(2, many.data().size());
        assertEquals(one.data().getFirst().embedding(), many.data().getFirst().embedding());
        assertEquals(3, many.usage().promptTokens());
    }

    @Test
    void concurrentRequestsGetTheSameVectorsAsOneAtATime() throws Exception {
        List<String> texts = List.of("one fish", "two fish", "red fish", "blue fish");
        List<JsonNode> alone = new ArrayList<>();
        for (String t : texts) {
            alone.add(JSON.readTree(post("{\"model\": \"%s\", \"input\": \"%s\"}".formatted(MODEL, t)).body()));
        }
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> together = new ArrayList<>();
        for (String t : texts) {
            together.add(server.postAsync("/v1/embeddings", "{\"model\": \"%s\", \"input\": \"%s\"}"
                    .formatted(MODEL, t)));
        }
        for (int i = 0; i < texts.size(); i++) {
            HttpResponse<String> r = together.get(i).get();
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(alone.get(i).get("data"), JSON.readTree(r.body()).get("data"));
        }
    }

    @Test
    void badRequestsNameTheirField() throws Exception {
        BadRequestException dims = assertThrows(BadRequestException.class, () -> client.embeddings().create(
                EmbeddingCreateParams.builder().model(MODEL).input("hi").dimensions(64).build()));
        assertEquals("dimensions", dims.param().orElseThrow());
        assertEquals(256, client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL).input("hi")
                .dimensions(256).build()).data().getFirst().embedding().size());

        record Case(String body, String param) {
        }
        for (Case c : List.of(
                new Case("{\"model\": \"%s\"}", "input"),
                new Case("{\"model\": \"%s\", \"input\": \"\"}", "input"),
                new Case("{\"model\": \"%s\", \"input\": []}", "input"),
                new Case("{\"model\": \"%s\", \"input\": 5}", "input"),
                new Case("{\"model\": \"%s\", \"input\": [\"ok\", 5]}", "input[1]"),
                new Case("{\"model\": \"%s\", \"input\": [1, 999999]}", "input"),
                new Case("{\"model\": \"%s\", \"input\": \"hi\", \"encoding_format\": \"int8\"}", "encoding_format"),
                new Case("{\"model\": \"%s\", \"input\": \"" + "word ".repeat(100) + "\"}", "input"))) {
            HttpResponse<String> r = post(c.body().formatted(MODEL));
            assertEquals(400, r.statusCode(), r.body());
            assertEquals(c.param(), JSON.readTree(r.body()).get("error").get("param").asText(), r.body());
        }
    }
}
