package dev.jgpt.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models load on first use, unload after the keep-alive, and idle ones make room for others. */
class ModelUnloadTest {
    @TempDir
    Path directory;

    /** Counts loads and closes of scripted models. */
    private final AtomicInteger loads = new AtomicInteger();
    private final List<String> closed = new ArrayList<>();

    private TextModel load(Path file) {
        loads.incrementAndGet();
        String name = ModelCatalog.nameOf(file);
        ScriptedTextModel model = new ScriptedTextModel(0);
        model.onClose = () -> {
            synchronized (closed) {
                closed.add(name);
            }
        };
        return model;
    }

    private void files(String... names) throws IOException {
        for (String n : names) {
            Files.writeString(directory.resolve(n + ".gguf"), "scripted");
        }
    }

    @Test
    void idleModelUnloadsAfterKeepAliveAndLoadsAgainOnUse() throws Exception {
        files("a");
        try (ModelCatalog catalog = new ModelCatalog(List.of(), directory, this::load, 4, Duration.ofMillis(200), 3)) {
            ServedModel a = catalog.find("a");
            assertFalse(a.isLoaded(), "nothing loads before the first request");
            a.run(m -> m.contextSize());
            assertTrue(a.isLoaded());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (a.isLoaded() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(a.isLoaded(), "unloaded once idle for the keep-alive");
            assertEquals(List.of("a"), closed);
            a.run(m -> m.contextSize());
            assertTrue(a.isLoaded());
            assertEquals(2, loads.get());
        }
    }

    @Test
    void aModelInUseIsNeverUnloaded() throws Exception {
        files("a");
        try (ModelCatalog catalog = new ModelCatalog(List.of(), directory, this::load, 4, Duration.ofMillis(1), 3)) {
            ServedModel a = catalog.find("a");
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread user = Thread.ofVirtual().start(() -> a.run(m -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }));
            inside.await();
            Thread.sleep(100);
            assertFalse(a.unloadIfIdle(0), "a running request keeps its model");
            assertTrue(a.isLoaded());
            release.countDown();
            user.join();
            assertTrue(a.unloadIfIdle(0));
        }
    }

    @Test
    void loadingBeyondTheLimitUnloadsTheLeastRecentlyUsedIdleModel() throws Exception {
        files("a", "b", "c");
        try (ModelCatalog catalog = new ModelCatalog(List.of(), directory, this::load, 4, Duration.ZERO, 2)) {
            catalog.find("a").run(m -> null);
            catalog.find("b").run(m -> null);
            catalog.find("a").run(m -> null); // b is now the least recently used
            catalog.find("c").run(m -> null);
            assertTrue(catalog.find("a").isLoaded());
            assertFalse(catalog.find("b").isLoaded());
            assertTrue(catalog.find("c").isLoaded());
            assertEquals(List.of("b"), closed);
        }
    }
}
