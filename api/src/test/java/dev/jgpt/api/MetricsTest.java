package dev.jgpt.api;

import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GET /metrics}: Prometheus text whose counters follow the requests, over a scripted engine. */
class MetricsTest {
    @TempDir
    static Path modelDirectory;
    static ScriptedTextModel engine = new ScriptedTextModel(20);
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(modelDirectory.resolve("scripted.gguf"), "not read: the loader is scripted");
        server = TestServer.start(new ServerConfig("127.0.0.1", 0, List.of(), modelDirectory, 4096, 2), file -> engine);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static String metrics() throws Exception {
        HttpResponse<String> r = server.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        return r.body();
    }

    /** The value of one sample, e.g. {@code jgpt_requests_running{model="scripted"}}; 0 when absent. */
    static double sample(String text, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void countersFollowARequest() throws Exception {
        String before = metrics();
        String ok = "jgpt_http_requests_total{endpoint=\"/v1/completions\",method=\"POST\",status=\"200\"}";
        String bad = "jgpt_http_requests_total{endpoint=\"/v1/completions\",method=\"POST\",status=\"400\"}";
        HttpResponse<String> r = server.post("/v1/completions",
                "{\"model\": \"scripted\", \"prompt\": \"x\", \"max_tokens\": 4}");
        assertEquals(200, r.statusCode(), r.body());
        HttpResponse<String> refused = server.post("/v1/completions",
                "{\"model\": \"scripted\", \"prompt\": \"x\", \"max_tokens\": 0}");
        assertEquals(400, refused.statusCode());

        String after = metrics();
        assertEquals(sample(before, ok) + 1, sample(after, ok), after);
        assertEquals(sample(before, bad) + 1, sample(after, bad), after);
        String model = "{model=\"scripted\"}";
        assertEquals(sample(before, "jgpt_completion_tokens_total" + model) + 4,
                sample(after, "jgpt_completion_tokens_total" + model));
        assertEquals(sample(before, "jgpt_prompt_tokens_total" + model) + 2,
                sample(after, "jgpt_prompt_tokens_total" + model));
        assertEquals(sample(before, "jgpt_time_to_first_token_seconds_count" + model) + 1,
                sample(after, "jgpt_time_to_first_token_seconds_count" + model));
        assertEquals(sample(before, "jgpt_inter_token_latency_seconds_count" + model) + 3,
                sample(after, "jgpt_inter_token_latency_seconds_count" + model));
        assertTrue(sample(after, "jgpt_time_to_first_token_seconds_sum" + model) >= 0.02,
                "the first tick comes after one 20 ms pause: " + after);
        assertEquals(engine.contextSize(), sample(after, "jgpt_kv_cache_capacity_tokens" + model));
        assertTrue(after.contains("# TYPE jgpt_time_to_first_token_seconds histogram"), after);
    }

    @Test
    void aBatchingModelReportsItsSlotsAndCache() throws Exception {
        Path directory = Files.createDirectories(modelDirectory.resolve("real"));
        Files.copy(SharedData.model("tiny-qwen3-q8_0.gguf"), directory.resolve("tiny.gguf"));
        try (TestServer real = TestServer.start(List.of(), directory, 512, 4)) {
            for (int i = 0; i < 2; i++) { // the same prompt twice: the second reuses the first one's cache
                HttpResponse<String> r = real.post("/v1/chat/completions", """
                        {"model": "tiny", "max_tokens": 3, "messages": [{"role": "user", "content": "Hi"}]}""");
                assertEquals(200, r.statusCode(), r.body());
            }
            String model = "{model=\"tiny\"}";
            // The answer is sent before the scheduler's next step frees the slot (BatchScheduler's contract).
            String text = real.get("/metrics").body();
            for (int i = 0; i < 300 && sample(text, "jgpt_batch_slots_in_use" + model) != 0; i++) {
                Thread.sleep(10);
                text = real.get("/metrics").body();
            }
            double slots = sample(text, "jgpt_batch_slots" + model);
            assertTrue(slots >= 1, text);
            assertEquals(0, sample(text, "jgpt_batch_slots_in_use" + model), text);
            assertEquals(slots * 512, sample(text, "jgpt_kv_cache_capacity_tokens" + model), text);
            assertTrue(sample(text, "jgpt_kv_cache_used_tokens" + model) > 0, "idle slots keep their prefixes: " + text);
            assertEquals(1, sample(text, "jgpt_prompt_cache_hits_total" + model), text);
        }
    }

    @Test
    void unknownPathsAreCountedTogether() throws Exception {
        String series = "jgpt_http_requests_total{endpoint=\"unmatched\",method=\"GET\",status=\"404\"}";
        double before = sample(metrics(), series);
        HttpResponse<String> r = server.get("/no/such/path");
        assertEquals(404, r.statusCode());
        assertEquals(before + 1, sample(metrics(), series));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/v1/chat/completions | {\"model\": \"scripted\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"go\"}]}",
            "/v1/responses        | {\"model\": \"scripted\", \"stream\": true, \"input\": \"go\"}",
            "/api/chat            | {\"model\": \"scripted\", \"messages\": [{\"role\": \"user\", \"content\": \"go\"}]}"})
    void aClientThatDisconnectsMidStreamFreesItsSlot(String path, String request) throws Exception {
        String model = "{model=\"scripted\"}";
        double cancelledBefore = sample(metrics(), "jgpt_requests_cancelled_total" + model);
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<InputStream> r = client.send(server.jsonPost(path, request),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        try (InputStream body = r.body()) {
            // The role chunk, then at least one tick: the generation is running.
            String seen = "";
            while (!seen.contains("tick")) {
                seen += new String(body.readNBytes(64), StandardCharsets.UTF_8);
            }
            String during = metrics();
            assertEquals(1, sample(during, "jgpt_requests_running" + model), during);
            assertTrue(sample(during, "jgpt_kv_cache_used_tokens" + model) >= 4, during);
        }
        client.shutdownNow();

        // one scrape reads the series one after the other, so it can catch the generation between two of
        // them (the cancelled counter read before the generation ended, the gauges after): wait until all
        // have come to their final values
        String after = metrics();
        for (int i = 0; i < 300 && (sample(after, "jgpt_requests_running" + model)
                + sample(after, "jgpt_requests_waiting" + model) + sample(after, "jgpt_kv_cache_used_tokens" + model)
                != 0 || sample(after, "jgpt_requests_cancelled_total" + model) != cancelledBefore + 1); i++) {
            Thread.sleep(10);
            after = metrics();
        }
        assertEquals(0, sample(after, "jgpt_requests_running" + model), after);
        assertEquals(0, sample(after, "jgpt_requests_waiting" + model), after);
        assertEquals(0, sample(after, "jgpt_kv_cache_used_tokens" + model), after);
        assertEquals(cancelledBefore + 1, sample(after, "jgpt_requests_cancelled_total" + model), after);
    }
}
