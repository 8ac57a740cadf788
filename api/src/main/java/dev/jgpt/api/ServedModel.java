package dev.jgpt.api;

import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One model the server offers, and the queue in front of it: requests run one at a time in arrival order
 * (a fair lock), at most {@code queueCapacity} wait behind the running one, and more are refused with 429
 * and an estimate of when to retry. The model file is loaded by the first request that needs it.
 */
public final class ServedModel implements AutoCloseable {
    private final String name;
    private final Path file;
    private final Function<Path, TextModel> loader;
    private final int queueCapacity;
    private final Semaphore turn = new Semaphore(1, true);
    private final AtomicInteger admitted = new AtomicInteger();
    /** Moving average of how long a request holds the model, for Retry-After. */
    private volatile double averageSeconds = 1;
    private TextModel loaded; // guarded by turn
    private boolean closed; // guarded by turn

    ServedModel(String name, Path file, Function<Path, TextModel> loader, int queueCapacity) {
        this.name = name;
        this.file = file;
        this.loader = loader;
        this.queueCapacity = queueCapacity;
    }

    public String name() {
        return name;
    }

    public Path file() {
        return file;
    }

    /** Requests running or waiting. */
    public int load() {
        return admitted.get();
    }

    /**
     * Waits for this model's turn, loads the model if needed, and runs {@code job} on it.
     *
     * @throws ApiException 429 when the queue is full, 503 when the server stops while waiting
     */
    public <T> T run(Function<TextModel, T> job) {
        Slot slot = acquire();
        try {
            return job.apply(slot.model());
        } finally {
            slot.close();
        }
    }

    /** A held turn on the model; closing it lets the next request run. */
    public final class Slot implements AutoCloseable {
        private final long start = System.nanoTime();
        private boolean released;

        private Slot() {
        }

        public TextModel model() {
            if (loaded == null) {
                loaded = loader.apply(file);
            }
            return loaded;
        }

        @Override
        public void close() {
            if (released) {
                return;
            }
            released = true;
            double seconds = (System.nanoTime() - start) / 1e9;
            averageSeconds = 0.8 * averageSeconds + 0.2 * seconds;
            turn.release();
            admitted.decrementAndGet();
        }
    }

    /** Takes a turn (tests hold one to fill the queue); see {@link #run}. */
    public Slot acquire() {
        int position = admitted.incrementAndGet();
        if (position > queueCapacity + 1) {
            admitted.decrementAndGet();
            int retryAfter = (int) Math.max(1, Math.ceil(averageSeconds * position));
            throw ApiException.busy(name, retryAfter);
        }
        try {
            turn.acquire();
        } catch (InterruptedException e) {
            admitted.decrementAndGet();
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("server_stopping", "The server is stopping; retry on another instance.");
        }
        if (closed) {
            turn.release();
            admitted.decrementAndGet();
            throw ApiException.unavailable("server_stopping", "The server is stopping; retry on another instance.");
        }
        return new Slot();
    }

    /** Unloads the model once the running request is done; later requests are refused. */
    @Override
    public void close() {
        turn.acquireUninterruptibly();
        try {
            closed = true;
            if (loaded != null) {
                loaded.close();
                loaded = null;
            }
        } finally {
            turn.release();
        }
    }
}
