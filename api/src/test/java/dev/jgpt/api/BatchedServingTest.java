package dev.jgpt.api;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.generate.SchedulerStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real engine behind HTTP: concurrent streams share the scheduler's decode steps; a client that leaves frees its slot. */
class BatchedServingTest {
    static final String MODEL = "tiny-qwen3-q8_0";

    @TempDir
    static Path modelDirectory;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(List.of(SharedData.model(MODEL + ".gguf")), modelDirectory, 512, 4);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpRequest stream(String content, int maxTokens) {
        return server.jsonPost("/v1/chat/completions", "{\"model\": \"" + MODEL + "\", \"stream\": true, "
                + "\"max_tokens\": " + maxTokens + ", \"messages\": [{\"role\": \"user\", \"content\": \""
                + content + "\"}]}");
    }

    static SchedulerStats stats(ServedModel served) {
        return served.schedulerStats().orElseThrow();
    }

    @Test
    void concurrentStreamsAreDecodedTogether() throws Exception {
        ServedModel served = server.server().models().find(MODEL);
        // load the model first, so that every stream below is admitted at once
        assertEquals(200, server.send(stream("warm up", 1)).statusCode());
        int streams = 4;
        List<Future<String>> bodies = new ArrayList<>();
        int mostRunning = 0;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < streams; i++) {
                HttpRequest r = stream("story number " + i, 120);
                bodies.add(pool.submit(() -> server.send(r).body()));
            }
            while (bodies.stream().anyMatch(f -> !f.isDone())) {
                mostRunning = Math.max(mostRunning, stats(served).running());
                Thread.sleep(2);
            }
            for (Future<String> body : bodies) {
                assertTrue(body.get().strip().endsWith("data: [DONE]"), body.get());
            }
        }
        assertTrue(mostRunning >= 2, "several streams shared the decode steps (at most " + mostRunning + " at once)");
        assertTrue(stats(served).slots() >= streams, "the model has a slot for each stream: " + stats(served));
    }

    @Test
    void aClientThatLeavesFreesItsSlot() throws Exception {
        ServedModel served = server.server().models().find(MODEL);
        HttpClient leaving = HttpClient.newHttpClient();
        HttpResponse<InputStream> r = leaving.send(stream("tell me everything", 480),
                HttpResponse.BodyHandlers.ofInputStream());
        long generatedBefore;
        try (InputStream body = r.body()) {
            byte[] first = body.readNBytes(200);
            assertTrue(new String(first, StandardCharsets.UTF_8).startsWith("data: "));
            generatedBefore = stats(served).tokensGenerated();
        }
        leaving.shutdownNow();
        for (int i = 0; i < 500 && (served.load() > 0 || stats(served).running() > 0); i++) {
            Thread.sleep(10);
        }
        assertEquals(0, served.load(), "the request left the queue");
        assertEquals(0, stats(served).running(), "the scheduler freed the slot");
        assertTrue(stats(served).tokensGenerated() - generatedBefore < 470,
                "generation stopped early: " + stats(served));
    }
}
