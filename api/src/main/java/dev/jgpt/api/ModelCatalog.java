package dev.jgpt.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The models a server offers by name (file name without {@code .gguf}): the files given explicitly, then
 * the GGUF files in the model directory, which is read again on every lookup so a model copied there while
 * the server runs is served without a restart. Explicit files win over directory files of the same name.
 *
 * <p>Models load on first use. A loaded model that no request has used for {@code keepAlive} is unloaded
 * (as Ollama's keep-alive does), and before a model loads, the least recently used idle models are
 * unloaded while {@code maxLoaded} models are already loaded or the heap is short of the memory a model
 * takes (its KV cache budget: a quarter of the heap).
 */
public final class ModelCatalog implements AutoCloseable {
    /** A model name and its file. */
    public record Entry(String name, Path file) {
        long createdEpochSeconds() {
            try {
                FileTime t = Files.getLastModifiedTime(file);
                return t.toMillis() / 1000;
            } catch (IOException e) {
                return 0;
            }
        }
    }

    private final List<Path> explicitFiles;
    private final Path directory;
    private final Function<Path, TextModel> loader;
    private final int queueCapacity;
    private final Map<Path, ServedModel> served = new ConcurrentHashMap<>();
    private final long keepAliveNanos;
    private final int maxLoaded;
    private final ScheduledExecutorService reaper;

    /** A catalog that keeps models loaded until it closes, however many. */
    public ModelCatalog(List<Path> explicitFiles, Path directory, Function<Path, TextModel> loader, int queueCapacity) {
        this(explicitFiles, directory, loader, queueCapacity, Duration.ZERO, Integer.MAX_VALUE);
    }

    /**
     * @param keepAlive how long a model stays loaded after its last request; zero keeps models loaded
     * @param maxLoaded how many models may be loaded at once (idle ones are unloaded to make room)
     */
    public ModelCatalog(List<Path> explicitFiles, Path directory, Function<Path, TextModel> loader, int queueCapacity,
                        Duration keepAlive, int maxLoaded) {
        if (keepAlive.isNegative() || maxLoaded < 1) {
            throw new IllegalArgumentException("keep-alive must not be negative and at least one model must fit");
        }
        this.explicitFiles = List.copyOf(explicitFiles);
        this.directory = directory;
        this.loader = file -> {
            makeRoom(file);
            return loader.apply(file);
        };
        this.queueCapacity = queueCapacity;
        this.keepAliveNanos = keepAlive.toNanos();
        this.maxLoaded = maxLoaded;
        if (keepAliveNanos > 0) {
            reaper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("jgpt-unloader").factory());
            long period = Math.clamp(keepAlive.toMillis() / 4, 10, 10_000);
            reaper.scheduleWithFixedDelay(this::unloadIdle, period, period, TimeUnit.MILLISECONDS);
        } else {
            reaper = null;
        }
    }

    /** Unloads every loaded model that has been idle for the keep-alive time. */
    void unloadIdle() {
        for (ServedModel m : served.values()) {
            m.unloadIfIdle(keepAliveNanos);
        }
    }

    /** Before {@code file} loads: unloads idle models, least recently used first, while room is short. */
    private void makeRoom(Path file) {
        List<ServedModel> leastRecentFirst = served.values().stream()
                .filter(m -> !m.file().equals(file) && m.isLoaded())
                .sorted(Comparator.comparingLong(ServedModel::lastUsedNanos))
                .toList();
        long loaded = leastRecentFirst.size();
        for (ServedModel m : leastRecentFirst) {
            if (loaded < maxLoaded && !heapShort()) {
                return;
            }
            if (m.unloadIfIdle(0)) {
                loaded--;
            }
        }
    }

    /** Whether the heap lacks room for another model's KV cache budget (a quarter of the heap). */
    private static boolean heapShort() {
        Runtime rt = Runtime.getRuntime();
        long used = rt.totalMemory() - rt.freeMemory();
        return rt.maxMemory() - used < rt.maxMemory() / 4;
    }

    public Path directory() {
        return directory;
    }

    public static String nameOf(Path file) {
        return file.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
    }

    /** All models, explicit files first, then the directory's in name order. */
    public List<Entry> entries() {
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Path p : explicitFiles) {
            byName.putIfAbsent(nameOf(p), new Entry(nameOf(p), p.toAbsolutePath().normalize()));
        }
        for (Path p : directoryFiles()) {
            byName.putIfAbsent(nameOf(p), new Entry(nameOf(p), p.toAbsolutePath().normalize()));
        }
        return new ArrayList<>(byName.values());
    }

    /** The model of this name, ready to queue requests; 404 {@code model_not_found} when there is none. */
    public ServedModel find(String name) {
        if (name == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        for (Entry e : entries()) {
            if (e.name().equals(name)) {
                return served.computeIfAbsent(e.file(), f -> new ServedModel(name, f, loader, queueCapacity));
            }
        }
        throw ApiException.modelNotFound(name);
    }

    private List<Path> directoryFiles() {
        if (directory == null || !Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(p -> p.getFileName().toString().toLowerCase().endsWith(".gguf"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the model directory " + directory, e);
        }
    }

    @Override
    public void close() {
        if (reaper != null) {
            reaper.shutdownNow();
        }
        for (ServedModel m : served.values()) {
            m.close();
        }
        served.clear();
    }
}
