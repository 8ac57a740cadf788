package dev.jgpt.api;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.router.Endpoint;
import dev.jgpt.engine.generate.SchedulerStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The server's Prometheus metrics, served by {@code GET /metrics} in the text exposition format: HTTP
 * requests by endpoint and status, tokens in and out, time to first token, inter-token latency and
 * per-request generation speed, cancelled requests, and per model the requests running and waiting, the
 * KV-cache positions in use and, for a batching model, its sequence slots and prompt-cache hits. Aggregate
 * tokens/s is {@code rate(jgpt_completion_tokens_total[1m])}.
 *
 * <p>Each server has its own registry, so tests (and several servers in one JVM) never see each other's
 * counts.
 */
public final class ServerMetrics {
    /** When the HTTP request being handled arrived, so time to first token includes waiting in the queue. */
    static final ScopedValue<Long> REQUEST_START = ScopedValue.newInstance();

    private static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final double[] DURATION_BUCKETS = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    private static final double[] SPEED_BUCKETS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Map<String, MeteredTextModel> models = new ConcurrentHashMap<>();

    private final Counter requests = Counter.builder().name("jgpt_http_requests_total")
            .help("HTTP requests answered, by endpoint (route pattern), method and status")
            .labelNames("endpoint", "method", "status").register(registry);
    private final Histogram requestDuration = Histogram.builder().name("jgpt_http_request_duration_seconds")
            .help("Time from a request's arrival to the end of its answer (whole stream included)")
            .labelNames("endpoint").classicOnly().classicUpperBounds(DURATION_BUCKETS).register(registry);
    final Counter promptTokens = Counter.builder().name("jgpt_prompt_tokens_total")
            .help("Prompt tokens of finished generations").labelNames("model").register(registry);
    final Counter cachedPromptTokens = Counter.builder().name("jgpt_prompt_cached_tokens_total")
            .help("Prompt tokens reused from the KV cache instead of computed").labelNames("model").register(registry);
    final Counter completionTokens = Counter.builder().name("jgpt_completion_tokens_total")
            .help("Tokens generated (cancelled generations included)").labelNames("model").register(registry);
    final Counter cancelled = Counter.builder().name("jgpt_requests_cancelled_total")
            .help("Generations stopped because the client disconnected").labelNames("model").register(registry);
    final Histogram timeToFirstToken = Histogram.builder().name("jgpt_time_to_first_token_seconds")
            .help("Time from a request's arrival (queue wait included) to its first piece of text")
            .labelNames("model").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
    final Histogram interTokenLatency = Histogram.builder().name("jgpt_inter_token_latency_seconds")
            .help("Time between consecutive pieces of text of one generation")
            .labelNames("model").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
    final Histogram generationSpeed = Histogram.builder().name("jgpt_generation_tokens_per_second")
            .help("Per finished request: generated tokens per second after the first one")
            .labelNames("model").classicOnly().classicUpperBounds(SPEED_BUCKETS).register(registry);

    ServerMetrics() {
        GaugeWithCallback.builder().name("jgpt_requests_running")
                .help("Generations in progress").labelNames("model")
                .callback(cb -> models.forEach((name, m) -> cb.call(m.usage().running(), name))).register(registry);
        GaugeWithCallback.builder().name("jgpt_kv_cache_used_tokens")
                .help("KV-cache positions filled: with the batching scheduler, across all its sequence slots (idle"
                        + " slots' cached prefixes included); otherwise prompt plus tokens so far of the generations"
                        + " in progress")
                .labelNames("model")
                .callback(cb -> models.forEach((name, m) -> cb.call(m.schedulerStats()
                        .map(SchedulerStats::kvPositionsUsed).orElse(m.usage().kvTokens()), name))).register(registry);
        GaugeWithCallback.builder().name("jgpt_kv_cache_capacity_tokens")
                .help("KV-cache positions of a loaded model: all the scheduler's slots, else one context")
                .labelNames("model")
                .callback(cb -> models.forEach((name, m) -> cb.call(m.schedulerStats()
                        .map(SchedulerStats::kvCapacity).orElse((long) m.usage().capacity()), name))).register(registry);
        GaugeWithCallback.builder().name("jgpt_batch_slots")
                .help("Sequence slots of a model's batching scheduler (requests decoded together at most)")
                .labelNames("model")
                .callback(cb -> models.forEach((name, m) -> m.schedulerStats()
                        .ifPresent(st -> cb.call(st.slots(), name)))).register(registry);
        GaugeWithCallback.builder().name("jgpt_batch_slots_in_use")
                .help("Sequence slots held by requests (prefilling or decoding)").labelNames("model")
                .callback(cb -> models.forEach((name, m) -> m.schedulerStats()
                        .ifPresent(st -> cb.call(st.running(), name)))).register(registry);
        CounterWithCallback.builder().name("jgpt_prompt_cache_hits_total")
                .help("Requests that reused the cached prefix of an earlier sequence").labelNames("model")
                .callback(cb -> models.forEach((name, m) -> m.schedulerStats()
                        .ifPresent(st -> cb.call(st.cacheHits(), name)))).register(registry);
    }

    /**
     * Adds the gauge of requests waiting per model: those admitted by {@code admitted} (running or queued)
     * that are not generating yet. A model whose file has gone from the catalog is left out.
     */
    void watchQueues(Function<String, Integer> admitted) {
        GaugeWithCallback.builder().name("jgpt_requests_waiting")
                .help("Requests admitted to a model's queue that are not generating yet").labelNames("model")
                .callback(cb -> models.forEach((name, m) -> {
                    Integer queued = admittedOrNull(admitted, name);
                    if (queued != null) {
                        cb.call(Math.max(0, queued - m.usage().running()), name);
                    }
                })).register(registry);
    }

    private static Integer admittedOrNull(Function<String, Integer> admitted, String name) {
        try {
            return admitted.apply(name);
        } catch (ApiException gone) {
            return null;
        }
    }

    /** A loader whose models report their generations here. */
    Function<Path, TextModel> metered(Function<Path, TextModel> loader) {
        return file -> {
            String name = ModelCatalog.nameOf(file);
            TextModel model = loader.apply(file);
            MeteredTextModel metered = new MeteredTextModel(model, name, this);
            models.put(name, metered);
            return metered;
        };
    }

    /** Runs {@code handler} with its arrival time known to the models (for time to first token). */
    static Handler timed(Handler handler) {
        return ctx -> ScopedValue.where(REQUEST_START, System.nanoTime()).call(() -> {
            handler.handle(ctx);
            return null;
        });
    }

    /** Counts a finished HTTP request (Javalin's request logger calls this once the answer is complete). */
    void requestFinished(Context ctx, float millis) {
        // The route pattern (/v1/responses/{id}), not the path, keeps the number of series bounded.
        Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
        String endpoint = matched == null ? "unmatched" : matched.path;
        requests.labelValues(endpoint, ctx.method().name(), Integer.toString(ctx.statusCode())).inc();
        requestDuration.labelValues(endpoint).observe(millis / 1000.0);
    }

    /** {@code GET /metrics}. */
    void serve(Context ctx) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writer.write(out, registry.scrape());
        ctx.contentType(writer.getContentType()).result(out.toByteArray());
    }
}
