package dev.jgpt.api;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything a server is started with.
 *
 * @param host           interface to listen on ({@code 127.0.0.1}: this machine only)
 * @param port           TCP port; 0 picks a free one
 * @param models         model files served in addition to the model directory's
 * @param modelDirectory directory whose {@code .gguf} files are served by name (may not exist yet)
 * @param contextSize    upper bound on each model's context, in tokens (memory grows with it)
 * @param queueCapacity  requests that may wait per model, behind those running together, before 429
 * @param apiKeys        keys a request must present as {@code Authorization: Bearer KEY} on /v1 and /api
 *                       routes; empty for an open server
 * @param keepAlive      how long a model stays loaded after its last request; zero keeps it loaded
 * @param maxLoadedModels how many models may be loaded at once (idle ones are unloaded to make room)
 */
public record ServerConfig(String host, int port, List<Path> models, Path modelDirectory, int contextSize,
                           int queueCapacity, List<String> apiKeys, Duration keepAlive, int maxLoadedModels) {
    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_CONTEXT_SIZE = 4096;
    public static final int DEFAULT_QUEUE_CAPACITY = 16;
    /** Ollama's default keep-alive. */
    public static final Duration DEFAULT_KEEP_ALIVE = Duration.ofMinutes(5);
    public static final int DEFAULT_MAX_LOADED_MODELS = 3;

    public ServerConfig {
        models = List.copyOf(models);
        apiKeys = List.copyOf(apiKeys);
        for (String key : apiKeys) {
            if (key.isBlank() || !key.equals(key.strip())) {
                throw new IllegalArgumentException("an API key must be non-empty and without surrounding spaces");
            }
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("the port must be between 0 and 65535, got " + port);
        }
        if (contextSize < 1) {
            throw new IllegalArgumentException("the context size must be at least 1 token, got " + contextSize);
        }
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("the queue capacity must be 0 or more, got " + queueCapacity);
        }
        if (keepAlive == null || keepAlive.isNegative()) {
            throw new IllegalArgumentException("the keep-alive must be zero or more, got " + keepAlive);
        }
        if (maxLoadedModels < 1) {
            throw new IllegalArgumentException("at least one model must be allowed to load, got " + maxLoadedModels);
        }
    }

    /** Models unloaded after {@link #DEFAULT_KEEP_ALIVE}, at most {@link #DEFAULT_MAX_LOADED_MODELS} loaded. */
    public ServerConfig(String host, int port, List<Path> models, Path modelDirectory, int contextSize,
                        int queueCapacity, List<String> apiKeys) {
        this(host, port, models, modelDirectory, contextSize, queueCapacity, apiKeys, DEFAULT_KEEP_ALIVE,
                DEFAULT_MAX_LOADED_MODELS);
    }

    /** An open server (no API keys). */
    public ServerConfig(String host, int port, List<Path> models, Path modelDirectory, int contextSize,
                        int queueCapacity) {
        this(host, port, models, modelDirectory, contextSize, queueCapacity, List.of());
    }

    /** Without the keys themselves, which must not end up in logs. */
    @Override
    public String toString() {
        return "ServerConfig[host=" + host + ", port=" + port + ", models=" + models + ", modelDirectory="
                + modelDirectory + ", contextSize=" + contextSize + ", queueCapacity=" + queueCapacity + ", apiKeys="
                + apiKeys.size() + " key(s), keepAlive=" + keepAlive + ", maxLoadedModels=" + maxLoadedModels + "]";
    }
}
