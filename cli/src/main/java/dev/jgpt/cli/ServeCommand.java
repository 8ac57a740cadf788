package dev.jgpt.cli;

import dev.jgpt.api.ApiServer;
import dev.jgpt.api.ModelCatalog;
import dev.jgpt.api.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code jgpt serve}: the OpenAI-compatible API over the given models and those in the model directory.
 * Runs until interrupted (Ctrl-C), then stops accepting requests and unloads the models.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/embeddings,"
                + " /v1/models).")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "GGUF model file or model-directory name to serve (repeatable); "
            + "the model directory's files are served too")
    List<String> models = new ArrayList<>();

    @Option(names = "--port", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Interface to listen on; 0.0.0.0 for all (default: ${DEFAULT-VALUE}, this machine only)")
    String host;

    @Option(names = "--ctx-size", defaultValue = "4096",
            description = "Context size in tokens per model, at most the model's (default: ${DEFAULT-VALUE})")
    int contextSize;

    @Option(names = "--queue", defaultValue = "16",
            description = "Requests that may wait per model before new ones get 429 (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(names = "--threads", description = "Threads for matrix products (default: all cores)")
    Integer threads;

    @Option(names = "--keep-alive", defaultValue = "5m", paramLabel = "DURATION",
            description = "How long a model stays loaded after its last request, e.g. 30s, 5m, 1h; 0 keeps models"
                    + " loaded (default: ${DEFAULT-VALUE})")
    String keepAlive;

    @Option(names = "--max-loaded-models", defaultValue = "3",
            description = "Models loaded at once; idle ones are unloaded to make room (default: ${DEFAULT-VALUE})")
    int maxLoadedModels;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on /v1 and"
            + " /api requests (repeatable: any of the keys is accepted; default: the JGPT_API_KEY environment"
            + " variable, else an open server)")
    List<String> apiKeys = new ArrayList<>();

    /** {@code 0}, or a number followed by {@code ms}, {@code s}, {@code m} or {@code h}. */
    static Duration parseDuration(String text) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h)?").matcher(text.strip());
        if (!m.matches() || (m.group(2) == null && !m.group(1).equals("0"))) {
            throw new CliException("--keep-alive '" + text + "' is not a duration such as 30s, 5m or 1h (0 keeps models loaded)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    /** The environment, read through a field so tests can set it. */
    Map<String, String> environment = System.getenv();

    @Override
    public Integer call() throws Exception {
        EngineThreads.configure(threads);
        Path directory = ModelLocator.modelDirectory();
        List<Path> files = new ArrayList<>();
        for (String m : models) {
            files.add(ModelLocator.resolve(m));
        }
        List<String> keys = apiKeys();
        ServerConfig config;
        try {
            config = new ServerConfig(host, port, files, directory, contextSize, queue, keys,
                    parseDuration(keepAlive), maxLoadedModels);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        ApiServer server = ApiServer.create(config);
        try {
            server.start();
        } catch (RuntimeException e) {
            server.close();
            throw new CliException("cannot listen on " + host + ":" + port + " (" + rootMessage(e)
                    + "); is another server using the port? Choose another with --port.");
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            server.close();
            stopped.countDown();
        }));
        String base = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.port() + "/v1";
        List<ModelCatalog.Entry> entries = server.models().entries();
        System.err.println("jgpt: serving the OpenAI API at " + base + " (Ctrl-C to stop)");
        if (!keys.isEmpty()) {
            System.err.println("jgpt: /v1 and /api need 'Authorization: Bearer KEY' (" + keys.size() + " key(s))");
        }
        if (entries.isEmpty()) {
            createIfMissing(directory);
            System.err.println("jgpt: no models yet. Add one: copy a GGUF file into " + directory
                    + " (it is picked up without a restart),\n      download one with './jgpt pull OWNER/REPO[:QUANT]'"
                    + " (e.g. ./jgpt pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M),\n      or start with --model PATH"
                    + " (set JGPT_MODELS to use another directory).");
        } else {
            for (ModelCatalog.Entry e : entries) {
                System.err.println("  model " + e.name() + "  (" + e.file() + ", loads on first use)");
            }
        }
        stopped.await();
        return 0;
    }

    /**
     * Creates the model directory if it does not exist yet, so that the advice printed next ("copy a GGUF file
     * into it") works as written on a fresh machine: {@code cp model.gguf ~/.jgpt/models/} fails while the
     * directory is missing. A directory that cannot be created is left to the message, which names it.
     */
    static void createIfMissing(Path directory) {
        try {
            Files.createDirectories(directory);
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            // the message names the directory; the user can create it
        }
    }

    /** The --api-key options, else JGPT_API_KEY when set, else none. */
    List<String> apiKeys() {
        if (!apiKeys.isEmpty()) {
            return apiKeys;
        }
        String env = environment.get("JGPT_API_KEY");
        return env == null || env.isBlank() ? List.of() : List.of(env.strip());
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage();
    }
}
