package dev.jgpt.api;

import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import com.openai.models.completions.CompletionCreateParams;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-model queue and stream cancellation, over a scripted engine so timing is under the test's control. */
class SchedulingTest {
    @TempDir
    static Path modelDirectory;
    static ScriptedTextModel engine = new ScriptedTextModel(5);
    static AtomicInteger loads = new AtomicInteger();
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(modelDirectory.resolve("scripted.gguf"), "not read: the loader is scripted");
        server = TestServer.start(new ServerConfig("127.0.0.1", 0, List.of(), modelDirectory, 4096, 2), file -> {
            loads.incrementAndGet();
            return engine;
        });
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static void awaitLoad(ServedModel model, int expected) throws InterruptedException {
        for (int i = 0; i < 500 && model.load() != expected; i++) {
            Thread.sleep(10);
        }
        assertEquals(expected, model.load());
    }

    @Test
    void requestsTakeTurnsAndAFullQueueIsRefused() throws Exception {
        ServedModel model = server.server().models().find("scripted");
        OpenAIClient client = server.openAi();
        CompletionCreateParams params = CompletionCreateParams.builder().model("scripted").prompt("x").maxTokens(3).build();
        List<Future<String>> answers = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            try (ServedModel.Slot held = model.acquire()) {
                held.model(); // loads on first use
                for (int i = 0; i < 2; i++) {
                    answers.add(pool.submit(() -> client.completions().create(params).choices().getFirst().text()));
                }
                awaitLoad(model, 3); // one running (this test) and two waiting: the queue of 2 is full
                RateLimitException e = assertThrows(RateLimitException.class,
                        () -> client.completions().create(params));
                assertEquals(429, e.statusCode());
                assertEquals(1, e.headers().values("Retry-After").size());
            }
            for (Future<String> a : answers) {
                assertEquals("tick".repeat(3), a.get());
            }
        }
        assertEquals(1, engine.maxRunning.get(), "one generation at a time per model");
        assertEquals(1, loads.get(), "the model is loaded once, by its first use");
    }

    @Test
    void aBatchingModelRunsSeveralRequestsAtOnceAndQueuesTheRest() throws Exception {
        ScriptedTextModel batching = new ScriptedTextModel(20, 3);
        // the generations wait at the gate until the full queue has been checked: on a busy machine 200 ms
        // of generation could pass between two looks at the load
        batching.gate = new CountDownLatch(1);
        ServedModel served = new ServedModel("batching", modelDirectory.resolve("scripted.gguf"), f -> batching, 2);
        GenerationRequest request = new GenerationRequest(SamplingParams.greedy(), 10, List.of());
        List<Future<String>> answers = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 5; i++) {
                answers.add(pool.submit(() -> served.run(m -> m.generate(new int[] {1}, request, p -> { }).text())));
            }
            awaitLoad(served, 5); // three running (the model's concurrency) and two waiting: the queue is full
            ApiException refused = assertThrows(ApiException.class, () -> served.run(m -> "never runs"));
            assertEquals(429, refused.status());
            batching.gate.countDown();
            for (Future<String> a : answers) {
                assertEquals("tick".repeat(10), a.get());
            }
        }
        assertEquals(3, batching.maxRunning.get(), "as many at once as the model batches, no more");
        awaitLoad(served, 0);
        served.close();
    }

    @Test
    void stoppingLetsTheRunningRequestFinishAndRefusesTheWaitingOnesWith503() throws Exception {
        ScriptedTextModel slow = new ScriptedTextModel(20, 1);
        // the running generation waits at the gate, so that the waiting request is still waiting when the
        // model stops; the gate opens while close() waits for the running one
        slow.gate = new CountDownLatch(1);
        ServedModel served = new ServedModel("slow", modelDirectory.resolve("scripted.gguf"), f -> slow, 2);
        GenerationRequest request = new GenerationRequest(SamplingParams.greedy(), 10, List.of());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<String> running = pool.submit(() -> served.run(m -> m.generate(new int[] {1}, request, p -> { }).text()));
            awaitLoad(served, 1);
            Future<String> waiting = pool.submit(() -> served.run(m -> m.generate(new int[] {1}, request, p -> { }).text()));
            awaitLoad(served, 2);
            pool.submit(() -> {
                Thread.sleep(200);
                slow.gate.countDown();
                return null;
            });
            served.close();
            assertEquals("tick".repeat(10), running.get(), "the running request finished");
            ExecutionException e = assertThrows(ExecutionException.class,
                    waiting::get);
            assertEquals(503, ((ApiException) e.getCause()).status());
            assertEquals(503, assertThrows(ApiException.class, () -> served.run(m -> "late")).status());
        }
    }

    @Test
    void closingAStreamStopsItsGenerationAndFreesTheModel() throws Exception {
        ServedModel model = server.server().models().find("scripted");
        int abortedBefore = engine.aborted.get();
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<InputStream> r = http.send(server.jsonPost("/v1/chat/completions",
                "{\"model\": \"scripted\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"go\"}]}"),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = r.body()) {
            byte[] first = body.readNBytes(200);
            assertTrue(new String(first, StandardCharsets.UTF_8).startsWith("data: "));
        }
        http.shutdownNow();
        awaitLoad(model, 0);
        assertEquals(abortedBefore + 1, engine.aborted.get(), "the endless generation ended when the client left");
    }
}
