package dev.jgpt.api;

import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.SchedulerStats;
import dev.jgpt.engine.generate.TokenConstraint;
import dev.jgpt.engine.generate.TokenLogprob;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A {@link TextModel} that reports its generations to {@link ServerMetrics}: tokens in and out, time to
 * first token (from the request's arrival when the handler runs under {@link ServerMetrics#timed}, else
 * from the start of the generation), inter-token latency, speed, client disconnects, and the generations
 * and KV-cache positions in use. KV positions count the prompt plus one per piece of text so far, which is
 * one per token except where a character spans several byte tokens.
 */
final class MeteredTextModel implements TextModel {
    /** What a model holds right now, read by the gauges. */
    static final class Usage {
        private final AtomicInteger running = new AtomicInteger();
        private final AtomicLong kvTokens = new AtomicLong();
        private final int capacity;

        Usage(int capacity) {
            this.capacity = capacity;
        }

        int running() {
            return running.get();
        }

        long kvTokens() {
            return kvTokens.get();
        }

        int capacity() {
            return capacity;
        }
    }

    private final TextModel model;
    private final String name;
    private final ServerMetrics metrics;
    private final Usage usage;

    MeteredTextModel(TextModel model, String name, ServerMetrics metrics) {
        this.model = model;
        this.name = name;
        this.metrics = metrics;
        this.usage = new Usage(model.contextSize());
    }

    Usage usage() {
        return usage;
    }

    @Override
    public int contextSize() {
        return model.contextSize();
    }

    @Override
    public int vocabularySize() {
        return model.vocabularySize();
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages) {
        return model.chatPrompt(messages);
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        return model.chatPrompt(messages, tools);
    }

    @Override
    public String chatTemplateSource() {
        return model.chatTemplateSource();
    }

    @Override
    public TokenConstraint jsonConstraint(JsonGrammar grammar, int maxTokens) {
        return model.jsonConstraint(grammar, maxTokens);
    }

    @Override
    public int[] textPrompt(String text) {
        return model.textPrompt(text);
    }

    @Override
    public int concurrency() {
        return model.concurrency();
    }

    @Override
    public Optional<SchedulerStats> schedulerStats() {
        return model.schedulerStats();
    }

    @Override
    public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        long start = ServerMetrics.REQUEST_START.orElse(System.nanoTime());
        var pieces = new Consumer<String>() {
            long first = -1;
            long last;
            int count;

            @Override
            public void accept(String piece) {
                long now = System.nanoTime();
                if (first < 0) {
                    first = now;
                    metrics.timeToFirstToken.labelValues(name).observe((now - start) / 1e9);
                } else {
                    metrics.interTokenLatency.labelValues(name).observe((now - last) / 1e9);
                }
                last = now;
                count++;
                usage.kvTokens.incrementAndGet();
                onText.accept(piece);
            }
        };
        usage.running.incrementAndGet();
        usage.kvTokens.addAndGet(prompt.length);
        try {
            GenerationResult result = model.generate(prompt, request, pieces);
            metrics.promptTokens.labelValues(name).inc(result.promptTokens());
            metrics.cachedPromptTokens.labelValues(name).inc(result.cachedTokens());
            metrics.completionTokens.labelValues(name).inc(result.completionTokens());
            if (pieces.count > 1 && pieces.last > pieces.first) {
                metrics.generationSpeed.labelValues(name)
                        .observe((result.completionTokens() - 1) / ((pieces.last - pieces.first) / 1e9));
            }
            return result;
        } catch (ClientGoneException e) {
            metrics.cancelled.labelValues(name).inc();
            metrics.completionTokens.labelValues(name).inc(pieces.count);
            throw e;
        } finally {
            usage.kvTokens.addAndGet(-(prompt.length + pieces.count));
            usage.running.decrementAndGet();
        }
    }

    @Override
    public byte[] tokenBytes(int id) {
        return model.tokenBytes(id);
    }

    @Override
    public List<TokenLogprob> promptLogprobs(int[] prompt, int top) {
        return model.promptLogprobs(prompt, top);
    }

    @Override
    public int[] infillPrompt(String prefix, String suffix) {
        return model.infillPrompt(prefix, suffix);
    }

    @Override
    public int embeddingSize() {
        return model.embeddingSize();
    }

    @Override
    public float[] embed(int[] tokens) {
        return model.embed(tokens);
    }

    @Override
    public void close() {
        model.close();
    }
}
