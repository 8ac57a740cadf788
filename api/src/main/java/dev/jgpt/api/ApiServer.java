package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.ModelCard;
import dev.jgpt.api.OpenAiProtocol.ModelList;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The HTTP server with OpenAI-compatible ({@code /v1}), Ollama-compatible ({@code /api}) and Prometheus
 * ({@code /metrics}) routes, declared here, in one place; handlers run on virtual threads; errors are mapped by
 * {@link ApiErrors}.
 */
public final class ApiServer implements AutoCloseable {
    private final ServerConfig config;
    private final ModelCatalog catalog;
    private final Javalin app;

    private ApiServer(ServerConfig config, ModelCatalog catalog, ServerMetrics metrics, Clock clock) {
        this.config = config;
        this.catalog = catalog;
        ChatCompletionHandler chat = new ChatCompletionHandler(catalog, clock);
        CompletionHandler completions = new CompletionHandler(catalog, clock);
        ResponsesHandler responses = new ResponsesHandler(catalog, clock, new ResponseStore(ResponseStore.DEFAULT_CAPACITY));
        OllamaHandlers ollama = new OllamaHandlers(catalog, clock);
        EmbeddingsHandler embeddings = new EmbeddingsHandler(catalog);
        ApiKeys apiKeys = new ApiKeys(config.apiKeys());
        this.app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.startup.showJavalinBanner = false;
            c.startup.showOldJavalinVersionWarning = false;
            // Compression would buffer server-sent events; answers are small anyway.
            c.http.compressionStrategy = CompressionStrategy.NONE;
            c.requestLogger.http(metrics::requestFinished);
            c.routes.before("/v1/*", apiKeys);
            c.routes.before("/api/*", apiKeys);
            c.routes.get("/health", ApiServer::health);
            c.routes.get("/v1/models", this::listModels);
            c.routes.get("/v1/models/{model}", this::getModel);
            c.routes.post("/v1/chat/completions", ServerMetrics.timed(chat));
            c.routes.post("/v1/completions", ServerMetrics.timed(completions));
            c.routes.post("/v1/embeddings", ServerMetrics.timed(embeddings));
            c.routes.post("/v1/responses", ServerMetrics.timed(responses::create));
            c.routes.get("/v1/responses/{id}", responses::retrieve);
            c.routes.delete("/v1/responses/{id}", responses::delete);
            c.routes.get("/metrics", metrics::serve);
            // Ollama's API, so Ollama clients work too.
            c.routes.post("/api/chat", ServerMetrics.timed(OllamaHandlers.withOllamaErrors(ollama::chat)));
            c.routes.post("/api/generate", ServerMetrics.timed(OllamaHandlers.withOllamaErrors(ollama::generate)));
            c.routes.get("/api/tags", OllamaHandlers.withOllamaErrors(ollama::tags));
            c.routes.post("/api/show", OllamaHandlers.withOllamaErrors(ollama::show));
            c.routes.get("/api/version", ollama::version);
            ApiErrors.register(c.routes);
        });
    }

    /** A server over the jgpt engine, not yet listening. */
    public static ApiServer create(ServerConfig config) {
        return create(config, file -> EngineTextModel.load(file, config.contextSize()), Clock.systemUTC());
    }

    /** A server whose models are made by {@code loader} (tests pass their own). */
    static ApiServer create(ServerConfig config, Function<Path, TextModel> loader, Clock clock) {
        ServerMetrics metrics = new ServerMetrics();
        ModelCatalog catalog = new ModelCatalog(config.models(), config.modelDirectory(), metrics.metered(loader),
                config.queueCapacity(), config.keepAlive(), config.maxLoadedModels());
        metrics.watchQueues(name -> catalog.find(name).load());
        return new ApiServer(config, catalog, metrics, clock);
    }

    public ApiServer start() {
        app.start(config.host(), config.port());
        return this;
    }

    /** The port listened on (the chosen one when the configuration said 0). */
    public int port() {
        return app.port();
    }

    public ModelCatalog models() {
        return catalog;
    }

    /** Stops listening, then unloads the models. */
    @Override
    public void close() {
        app.stop();
        catalog.close();
    }

    private static void health(Context ctx) {
        ctx.contentType("application/json").result(Json.write(Map.of("status", "ok")));
    }

    private void listModels(Context ctx) {
        List<ModelCard> cards = new ArrayList<>();
        for (ModelCatalog.Entry e : catalog.entries()) {
            cards.add(card(e));
        }
        ctx.contentType("application/json").result(Json.write(new ModelList("list", cards)));
    }

    private void getModel(Context ctx) {
        String name = ctx.pathParam("model");
        for (ModelCatalog.Entry e : catalog.entries()) {
            if (e.name().equals(name)) {
                ctx.contentType("application/json").result(Json.write(card(e)));
                return;
            }
        }
        throw ApiException.modelNotFound(name);
    }

    private static ModelCard card(ModelCatalog.Entry e) {
        return new ModelCard(e.name(), "model", e.createdEpochSeconds(), "jgpt");
    }
}
