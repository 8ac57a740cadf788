package dev.jgpt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds the model file a command should use: an explicit path, a name in the model directory
 * ({@code $JGPT_MODELS}, else {@code ~/.jgpt/models}), or the directory's only model.
 */
final class ModelLocator {
    private ModelLocator() {
    }

    static Path modelDirectory() {
        String env = System.getenv("JGPT_MODELS");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".jgpt", "models");
    }

    static Path resolve(String model) {
        Path dir = modelDirectory();
        if (model != null) {
            Path p = Path.of(model);
            if (Files.exists(p)) {
                return p;
            }
            for (String candidate : List.of(model, model + ".gguf")) {
                Path inDir = dir.resolve(candidate);
                if (Files.isRegularFile(inDir)) {
                    return inDir;
                }
            }
            throw new CliException("model '" + model + "' not found: it is neither a file nor a model in " + dir
                    + availableHint(dir));
        }
        List<Path> models = list(dir);
        if (models.size() == 1) {
            return models.get(0);
        }
        if (models.isEmpty()) {
            throw new CliException("no model given and the model directory " + dir + " has no models.\n"
                    + "Add one: copy a GGUF file there (e.g. cp ../shared/models/tiny-qwen3-q8_0.gguf " + dir + "/),\n"
                    + "or name a file with --model PATH (set JGPT_MODELS to use another directory).");
        }
        throw new CliException("several models in " + dir + "; choose one with --model NAME" + availableHint(dir));
    }

    static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".gguf")).sorted().toList();
        } catch (IOException e) {
            throw new CliException("cannot list the model directory " + dir + ": " + e.getMessage());
        }
    }

    private static String availableHint(Path dir) {
        List<Path> models = list(dir);
        if (models.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("; available:");
        for (Path p : models) {
            sb.append(' ').append(p.getFileName().toString().replaceFirst("\\.gguf$", ""));
        }
        return sb.toString();
    }
}
