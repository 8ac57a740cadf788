package dev.jgpt.api;

import dev.jgpt.engine.generate.FinishReason;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A stand-in engine for scheduler and streaming tests: emits "tick" every {@code pauseMillis} until the token
 * limit, and counts how many generations run at once (it allows {@link #concurrency()} of them).
 */
final class ScriptedTextModel implements TextModel {
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger maxRunning = new AtomicInteger();
    final AtomicInteger finished = new AtomicInteger();
    final AtomicInteger aborted = new AtomicInteger();
    private final long pauseMillis;
    private final int concurrency;
    /** Generations wait for it to open before their first token (open unless a test closes it). */
    volatile CountDownLatch gate = new CountDownLatch(0);
    /** Runs when the model is closed (unloaded). */
    Runnable onClose = () -> { };

    ScriptedTextModel(long pauseMillis) {
        this(pauseMillis, 1);
    }

    /** A model that runs up to {@code concurrency} generations at once, like a batching engine. */
    ScriptedTextModel(long pauseMillis, int concurrency) {
        this.pauseMillis = pauseMillis;
        this.concurrency = concurrency;
    }

    @Override
    public int concurrency() {
        return concurrency;
    }

    @Override
    public int contextSize() {
        return 1_000_000;
    }

    @Override
    public int vocabularySize() {
        return 100;
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages) {
        return new int[] {1, 2, 3};
    }

    @Override
    public int[] textPrompt(String text) {
        return new int[] {1, 2};
    }

    @Override
    public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
        try {
            gate.await();
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < request.maxTokens(); i++) {
                Thread.sleep(pauseMillis);
                onText.accept("tick");
                text.append("tick");
            }
            finished.incrementAndGet();
            return new GenerationResult(text.toString(), FinishReason.LENGTH, prompt.length, 0, request.maxTokens(), 0, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            aborted.incrementAndGet();
            throw e;
        } finally {
            running.decrementAndGet();
        }
    }

    @Override
    public void close() {
        onClose.run();
    }
}
