package dev.jgpt.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The models a server offers by name (file name without {@code .gguf}): the files given explicitly, then
 * the GGUF files in the model directory, which is read again on every lookup so a model copied there while
 * the server runs is served without a restart. Explicit files win over directory files of the same name.
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

    public ModelCatalog(List<Path> explicitFiles, Path directory, Function<Path, TextModel> loader, int queueCapacity) {
        this.explicitFiles = List.copyOf(explicitFiles);
        this.directory = directory;
        this.loader = loader;
        this.queueCapacity = queueCapacity;
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
        for (ServedModel m : served.values()) {
            m.close();
        }
        served.clear();
    }
}
