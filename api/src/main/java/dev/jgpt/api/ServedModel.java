package dev.jgpt.api;

import dev.jgpt.engine.generate.SchedulerStats;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.function.Function;

/**
 * One model the server offers, and the queue in front of it: up to {@link TextModel#concurrency()}
 * requests run at once (the engine decodes them together), the rest wait in arrival order, at most
 * {@code queueCapacity} of them, and more are refused with 429 and an estimate of when to retry. The model
 * file is loaded by the first request that needs it (until then one request runs at a time), and unloaded
 * again by {@link #unloadIfIdle} when it has not been used for a while or another model needs the memory.
 */
public final class ServedModel implements AutoCloseable {
    private final String name;
    private final Path file;
    private final Function<Path, TextModel> loader;
    private final int queueCapacity;

    private final Object lock = new Object();
    /** One ticket per waiting request, in arrival order. */
    private final ArrayDeque<Object> waiting = new ArrayDeque<>(); // guarded by lock
    private int running; // guarded by lock
    private boolean exclusive; // guarded by lock: a hold on every turn (see acquire())
    private int concurrency = 1; // guarded by lock: the model's, once loaded
    private boolean closed; // guarded by lock
    private volatile TextModel loaded;
    /** Moving average of how long a request holds a turn, for Retry-After. */
    private volatile double averageSeconds = 1;
    /** When the last turn ended (or the model was made), from {@link System#nanoTime()}. */
    private volatile long lastUsedNanos = System.nanoTime();

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
        synchronized (lock) {
            return running + (exclusive ? 1 : 0) + waiting.size();
        }
    }

    /** Whether the model file is loaded (a request has used it and it was not unloaded since). */
    public boolean isLoaded() {
        return loaded != null;
    }

    /** When a request last finished on this model, from {@link System#nanoTime()}. */
    public long lastUsedNanos() {
        return lastUsedNanos;
    }

    /**
     * Unloads the model if it is loaded, no request runs or waits, and none has finished for at least
     * {@code idleNanos}; the next request loads it again.
     *
     * @return whether it was unloaded
     */
    public boolean unloadIfIdle(long idleNanos) {
        TextModel m;
        synchronized (lock) {
            m = loaded;
            if (m == null || closed || running > 0 || exclusive || !waiting.isEmpty()
                    || System.nanoTime() - lastUsedNanos < idleNanos) {
                return false;
            }
            loaded = null;
            concurrency = 1;
        }
        m.close();
        return true;
    }

    /** The batching scheduler's counters, once the model is loaded and if it batches. */
    public Optional<SchedulerStats> schedulerStats() {
        TextModel m = loaded;
        return m == null ? Optional.empty() : m.schedulerStats();
    }

    /**
     * Waits for a turn, loads the model if needed, and runs {@code job} on it.
     *
     * @throws ApiException 429 when the queue is full, 503 when the server stops while waiting
     */
    public <T> T run(Function<TextModel, T> job) {
        try (Slot slot = acquire(false)) {
            return job.apply(slot.model());
        }
    }

    /** A held turn on the model; closing it lets the next request run. */
    public final class Slot implements AutoCloseable {
        private final long start = System.nanoTime();
        private final boolean whole;
        private boolean released;

        private Slot(boolean whole) {
            this.whole = whole;
        }

        /** The model, loaded by the first turn that asks (only one turn exists until then). */
        public TextModel model() {
            TextModel m = loaded;
            if (m == null) {
                m = loader.apply(file);
                synchronized (lock) {
                    loaded = m;
                    concurrency = Math.max(1, m.concurrency());
                    lock.notifyAll();
                }
            }
            return m;
        }

        @Override
        public void close() {
            if (released) {
                return;
            }
            released = true;
            long end = System.nanoTime();
            averageSeconds = 0.8 * averageSeconds + 0.2 * ((end - start) / 1e9);
            lastUsedNanos = end;
            synchronized (lock) {
                if (whole) {
                    exclusive = false;
                } else {
                    running--;
                }
                lock.notifyAll();
            }
        }
    }

    /**
     * Takes every turn at once, as if all the model's slots were busy: requests queue behind it (tests hold
     * one to fill the queue); see {@link #run}.
     */
    public Slot acquire() {
        return acquire(true);
    }

    private Slot acquire(boolean whole) {
        synchronized (lock) {
            if (closed) {
                throw stopping();
            }
            if (!(waiting.isEmpty() && canRun(whole)) && waiting.size() >= queueCapacity) {
                int ahead = (exclusive ? concurrency : running) + waiting.size() + 1;
                int retryAfter = (int) Math.max(1, Math.ceil(averageSeconds * ahead / concurrency));
                throw ApiException.busy(name, retryAfter);
            }
            Object ticket = new Object();
            waiting.add(ticket);
            try {
                while (waiting.peek() != ticket || !canRun(whole)) {
                    if (closed) {
                        throw stopping();
                    }
                    lock.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw stopping();
            } finally {
                waiting.remove(ticket);
                lock.notifyAll(); // the next in line may be able to run too
            }
            Slot slot = new Slot(whole);
            if (whole) {
                exclusive = true;
            } else {
                running++;
            }
            return slot;
        }
    }

    private boolean canRun(boolean whole) {
        return !exclusive && (whole ? running == 0 : running < concurrency);
    }

    private static ApiException stopping() {
        return ApiException.unavailable("server_stopping", "The server is stopping; retry on another instance.");
    }

    /** Unloads the model once the running requests are done; waiting and later requests are refused. */
    @Override
    public void close() {
        TextModel m;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            while (running > 0 || exclusive) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            m = loaded;
            loaded = null;
        }
        if (m != null) {
            m.close();
        }
    }
}
