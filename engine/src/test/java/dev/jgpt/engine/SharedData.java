package dev.jgpt.engine;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (models and llama.cpp reference outputs) for tests. */
public final class SharedData {
    private SharedData() {
    }

    /** The shared folder: system property {@code jgpt.shared}, else {@code ../shared} of the working tree. */
    public static Path root() {
        String prop = System.getProperty("jgpt.shared");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop);
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared");
            if (Files.isDirectory(candidate.resolve("models"))) {
                return candidate;
            }
            candidate = p.resolveSibling("shared");
            if (p.getParent() != null && Files.isDirectory(candidate.resolve("models"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("cannot find the shared folder (models, reference); set -Djgpt.shared");
    }

    public static Path model(String fileName) {
        return root().resolve("models").resolve(fileName);
    }

    public static Path reference(String relative) {
        return root().resolve("reference").resolve(relative);
    }
}
