package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A server started with API keys: /v1 and /api need one of them, /health does not. */
class ApiKeysTest {
    static final String KEY = "sk-jgpt-first-key-0001";
    static final String OTHER_KEY = "sk-jgpt-second-key-0002";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(new ServerConfig("127.0.0.1", 0, List.of(), modelDirectory, 512, 4,
                List.of(KEY, OTHER_KEY)), file -> new ScriptedTextModel(0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> get(String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return server.send(b.build());
    }

    @Test
    void theSdkWithAGoodKeyGetsIn() {
        for (String key : List.of(KEY, OTHER_KEY)) {
            List<Model> models = server.openAi(key).models().list().data();
            assertTrue(models.isEmpty(), "the directory is empty");
        }
    }

    @Test
    void theSdkWithAWrongKeyGets401InvalidApiKey() {
        OpenAIClient client = server.openAi("sk-jgpt-wrong-key-9999");
        UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> client.models().list());
        assertEquals(401, e.statusCode());
        assertEquals("invalid_api_key", e.code().orElseThrow());
        assertEquals("invalid_request_error", e.type().orElseThrow());
        assertTrue(e.getMessage().contains("Incorrect API key provided"), e.getMessage());
        assertFalse(e.getMessage().contains("sk-jgpt-wrong-key-9999"), "the key is not echoed in full");
    }

    @Test
    void missingOrMalformedAuthorizationIs401InOpenAiShape() throws Exception {
        for (String header : new String[] {null, "", "Bearer", "Basic " + KEY, KEY, "Bearer " + KEY + "x"}) {
            for (String path : List.of("/v1/models", "/v1/chat/completions", "/api/tags", "/v1/no-such-route")) {
                HttpResponse<String> r = get(path, header);
                assertEquals(401, r.statusCode(), path + " with " + header + ": " + r.body());
                JsonNode error = JSON.readTree(r.body()).get("error");
                assertEquals("invalid_api_key", error.get("code").asText());
                assertEquals("invalid_request_error", error.get("type").asText());
                assertTrue(error.get("param").isNull());
            }
        }
    }

    @Test
    void healthStaysOpenAndTheSchemeIsCaseInsensitive() throws Exception {
        assertEquals(200, get("/health", null).statusCode());
        assertEquals(200, get("/v1/models", "bearer " + KEY).statusCode());
        assertEquals(200, get("/api/tags", "Bearer " + OTHER_KEY).statusCode());
    }

    @Test
    void keysAreValidatedAndNeverPrinted() {
        assertThrows(IllegalArgumentException.class, () -> new ServerConfig("127.0.0.1", 0, List.of(),
                modelDirectory, 512, 4, List.of(" ")));
        ServerConfig config = new ServerConfig("127.0.0.1", 0, List.of(), modelDirectory, 512, 4, List.of(KEY));
        assertFalse(config.toString().contains(KEY), config.toString());
        assertEquals("sk-jg***0001", ApiKeys.masked(KEY));
    }
}
