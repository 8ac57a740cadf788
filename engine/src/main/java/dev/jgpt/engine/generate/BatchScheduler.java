package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.ForwardBatch;
import dev.jgpt.engine.model.InferenceState;
import dev.jgpt.engine.model.ModelConfig;
import dev.jgpt.engine.model.Transformer;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Continuous batching for one model: every active request advances in shared forward passes driven by one
 * thread, so the weights are read once per step for all of them.
 *
 * <p>Requests wait in a bounded queue (first come, first served) for one of a fixed pool of sequence
 * slots. Each step, every decoding request adds its one token and prefilling requests share a budget of
 * {@link Config#prefillChunk} prompt tokens (the first in the rotation takes what it needs, the next
 * what is left, and the rotation moves on every step), so a long prompt is evaluated in chunks between
 * decode steps instead of stalling the running streams. A slot keeps its tokens after its request ends:
 * a new request is given the idle slot whose cache its prompt continues (a conversation's next turn
 * reuses its earlier turns), otherwise an empty slot or the least recently used one. A request ends when
 * its answer does, when it is cancelled, or when its text consumer throws; its slot is free for the next
 * step.
 *
 * <p>Text consumers run on the scheduler's thread and must not block; {@link #generate} hands the text
 * over to the calling thread instead.
 */
public final class BatchScheduler implements AutoCloseable {

    /**
     * @param slots        sequences decoded together (each has a cache of {@code contextSize} positions)
     * @param contextSize  positions per slot: prompt and answer together
     * @param maxWaiting   requests that may wait for a slot; more are rejected
     * @param prefillChunk prompt tokens evaluated per step, across all prefilling requests
     */
    public record Config(int slots, int contextSize, int maxWaiting, int prefillChunk) {
        public Config {
            if (slots < 1 || contextSize < 2 || maxWaiting < 0 || prefillChunk < 1) {
                throw new IllegalArgumentException("scheduler needs slots >= 1, context >= 2, waiting >= 0 and "
                        + "prefill chunk >= 1; got " + slots + ", " + contextSize + ", " + maxWaiting + ", "
                        + prefillChunk);
            }
        }

        /**
         * As many slots of {@code contextSize} positions as fit in {@code kvBudgetBytes} of key/value cache,
         * between 1 and {@code maxSlots}.
         */
        public static Config forBudget(ModelConfig model, int contextSize, long kvBudgetBytes, int maxSlots,
                                       int maxWaiting, int prefillChunk) {
            long perSlot = (long) contextSize * model.layers() * (model.kvDim() + model.valueDim()) * Float.BYTES;
            int slots = (int) Math.max(1, Math.min(maxSlots, kvBudgetBytes / perSlot));
            return new Config(slots, contextSize, maxWaiting, prefillChunk);
        }
    }

    /** A submitted request: its result, and a way to cancel it. */
    public static final class Handle {
        private final BatchScheduler scheduler;
        private final Request request;

        private Handle(BatchScheduler scheduler, Request request) {
            this.scheduler = scheduler;
            this.request = request;
        }

        /**
         * Completes with the answer, or exceptionally with the text consumer's exception, a
         * {@link CancellationException}, or the error that stopped the model.
         */
        public CompletableFuture<GenerationResult> result() {
            return request.future;
        }

        /** Ends the request (waiting or running); its slot is freed at the next step. */
        public void cancel() {
            request.future.cancel(false);
            scheduler.wake();
        }
    }

    private final Transformer transformer;
    private final Tokenizer tokenizer;
    private final Config config;
    private final Slot[] slots;
    private final ForwardBatch batch;
    private final Thread driver;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Request> waiting = new ArrayDeque<>(); // guarded by lock
    private boolean closed; // guarded by lock

    // Written by the driver thread only; read by stats().
    private volatile int running;
    private volatile long kvPositionsUsed;
    private volatile long tokensGenerated;
    private volatile long promptTokensEvaluated;
    private volatile long cacheHits;
    private volatile long cachedPromptTokens;

    // Driver thread only.
    private final List<Request> active = new ArrayList<>();
    private long clock;
    private int prefillTurn;

    public BatchScheduler(Transformer transformer, Tokenizer tokenizer, Config config) {
        if (config.contextSize() > transformer.config().contextLength()) {
            throw new IllegalArgumentException("context size " + config.contextSize() + " exceeds the model's "
                    + transformer.config().contextLength());
        }
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        this.config = config;
        this.slots = new Slot[config.slots()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(transformer.newState(config.contextSize()));
        }
        this.batch = transformer.newBatch(config.slots() + config.prefillChunk(), config.slots());
        this.driver = Thread.ofPlatform().daemon().name("jgpt-scheduler").start(this::drive);
    }

    public Config config() {
        return config;
    }

    /**
     * Queues a request. {@code onText} receives each final piece of text on the scheduler's thread; if it
     * throws, the request ends with that exception.
     *
     * @throws IllegalArgumentException  for an empty prompt or a token outside the vocabulary
     * @throws ContextOverflowException  when the prompt leaves no room in a slot for an answer
     * @throws RejectedExecutionException when the queue is full or the scheduler is closed
     */
    public Handle submit(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (prompt.length >= config.contextSize()) {
            throw new ContextOverflowException(prompt.length + 1, config.contextSize());
        }
        int vocab = transformer.config().vocabSize();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (vocab - 1)
                        + ")");
            }
        }
        Request r = new Request(prompt.clone(), request, onText);
        lock.lock();
        try {
            if (closed) {
                throw new RejectedExecutionException("the scheduler is closed");
            }
            if (waiting.size() >= config.maxWaiting() + freeSlotsEstimate()) {
                throw new RejectedExecutionException("the queue is full: " + waiting.size() + " requests wait");
            }
            waiting.add(r);
            work.signal();
        } finally {
            lock.unlock();
        }
        return new Handle(this, r);
    }

    /** Slots not running a request (a hint: the driver may be admitting right now). */
    private int freeSlotsEstimate() {
        return Math.max(0, slots.length - running);
    }

    /**
     * Generates an answer, blocking the calling thread, which also runs {@code onText} for each piece (so a
     * slow consumer never holds up the other sequences). If {@code onText} throws, or the thread is
     * interrupted, the request is cancelled and the exception rethrown.
     *
     * @throws RejectedExecutionException when the queue is full or the scheduler is closed
     */
    public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        BlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
        Runnable end = () -> { };
        GenerationRequest handedOver = new GenerationRequest(request.sampling(), request.maxTokens(), request.stop(),
                request.constraint(), request.topLogprobs(), lp -> events.add(() -> request.onLogprob().accept(lp)));
        Handle h = submit(prompt, handedOver, piece -> events.add(() -> onText.accept(piece)));
        h.result().whenComplete((r, e) -> events.add(end));
        try {
            for (Runnable event = events.take(); event != end; event = events.take()) {
                event.run();
            }
        } catch (InterruptedException e) {
            h.cancel();
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while generating");
        } catch (RuntimeException | Error e) {
            h.cancel();
            throw e;
        }
        try {
            return h.result().join();
        } catch (CompletionException e) {
            switch (e.getCause()) {
                case RuntimeException re -> throw re;
                case Error error -> throw error;
                default -> throw e;
            }
        }
    }

    public SchedulerStats stats() {
        int queued;
        lock.lock();
        try {
            queued = waiting.size();
        } finally {
            lock.unlock();
        }
        return new SchedulerStats(running, queued, slots.length, kvPositionsUsed,
                (long) slots.length * config.contextSize(), tokensGenerated, promptTokensEvaluated, cacheHits,
                cachedPromptTokens);
    }

    /** Stops the driver; requests still waiting or running fail with a {@link RejectedExecutionException}. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            driver.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void wake() {
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void drive() {
        while (true) {
            if (!admit()) {
                RejectedExecutionException stop = new RejectedExecutionException("the scheduler was closed");
                for (Request r : active) {
                    r.future.completeExceptionally(stop);
                }
                return;
            }
            try {
                step();
            } catch (RuntimeException | Error e) {
                batch.clear();
                // The model failed mid-pass: the caches of every sequence in it are no longer trustworthy.
                for (Request r : active) {
                    r.slot.reset();
                    r.future.completeExceptionally(e);
                }
                active.clear();
            }
            publishUsage();
        }
    }

    /**
     * Waits until there is work, drops cancelled requests and gives free slots to waiting requests.
     *
     * @return false when the scheduler is closed
     */
    private boolean admit() {
        lock.lock();
        try {
            while (true) {
                active.removeIf(this::releaseIfDone);
                waiting.removeIf(r -> r.future.isDone());
                if (closed) {
                    RejectedExecutionException stop = new RejectedExecutionException("the scheduler was closed");
                    for (Request r : waiting) {
                        r.future.completeExceptionally(stop);
                    }
                    waiting.clear();
                    return false;
                }
                while (!waiting.isEmpty() && active.size() < slots.length) {
                    start(waiting.poll());
                }
                running = active.size();
                if (!active.isEmpty()) {
                    return true;
                }
                work.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Frees the slot of a request that has ended (answered, cancelled or failed). */
    private boolean releaseIfDone(Request r) {
        if (!r.future.isDone()) {
            return false;
        }
        r.slot.release(++clock);
        return true;
    }

    /**
     * Gives {@code r} an idle slot: the one whose cache the prompt continues furthest, if the prompt
     * continues at least half of what that slot holds (a conversation's next turn); otherwise an empty
     * slot, else the least recently used one, so that a stranger sharing only a template's first tokens
     * does not evict another conversation's cache while a cheaper slot is free.
     */
    private void start(Request r) {
        Slot continued = null;
        int longest = 0;
        Slot spare = null;
        for (Slot s : slots) {
            if (s.busy) {
                continue;
            }
            int shared = s.commonPrefix(r.prompt);
            if (shared > longest && 2 * shared >= s.state.position()) {
                continued = s;
                longest = shared;
            }
            if (spare == null || s.cheaperToEvict(spare)) {
                spare = s;
            }
        }
        Slot slot = continued != null ? continued : spare;
        // Always evaluate the last prompt token, for fresh logits.
        int reuse = Math.min(slot.commonPrefix(r.prompt), r.prompt.length - 1);
        slot.take(reuse);
        r.slot = slot;
        r.cached = reuse;
        r.evaluated = reuse;
        r.startNanos = System.nanoTime();
        if (reuse > 0) {
            cacheHits++;
            cachedPromptTokens += reuse;
        }
        r.decoder = new SequenceDecoder(tokenizer, transformer.config().vocabSize(), r.prompt, r.request, r.onText);
        active.add(r);
    }

    /** One forward pass: a token for every decoding request and a share of the prefill budget, then sampling. */
    private void step() {
        for (Request r : active) {
            r.sampleNow = r.decoding();
            if (r.sampleNow) {
                r.slot.append(batch, r.next, 0, 1, 1, true);
            }
        }
        int budget = config.prefillChunk();
        int prefilling = 0;
        for (Request r : active) {
            prefilling += r.decoding() ? 0 : 1;
        }
        for (int i = 0; i < active.size() && budget > 0 && prefilling > 0; i++) {
            Request r = active.get((prefillTurn + i) % active.size());
            if (r.decoding()) {
                continue;
            }
            int total = r.prompt.length - r.cached;
            int chunk = Math.min(budget, r.prompt.length - r.evaluated);
            boolean last = r.evaluated + chunk == r.prompt.length;
            r.slot.append(batch, r.prompt, r.evaluated, chunk,
                    Transformer.llamaBatchTokens(total, r.evaluated - r.cached), last);
            r.evaluated += chunk;
            r.sampleNow = last;
            budget -= chunk;
            promptTokensEvaluated += chunk;
        }
        prefillTurn++;
        transformer.forward(batch);

        long now = System.nanoTime();
        for (int i = 0; i < active.size(); i++) {
            Request r = active.get(i);
            if (!r.sampleNow) {
                continue;
            }
            if (r.prefillNanos < 0) {
                r.prefillNanos = now - r.startNanos;
            }
            InferenceState s = r.slot.state;
            int before = r.decoder.generated();
            int token;
            try {
                token = r.decoder.next(s.logits(), s.position() + 1 < s.capacity());
            } catch (RuntimeException e) {
                r.future.completeExceptionally(e); // a consumer that failed: the request ends before the next step
                continue;
            } finally {
                tokensGenerated += r.decoder.generated() - before;
            }
            if (token >= 0) {
                r.next[0] = token;
                continue;
            }
            r.future.complete(r.decoder.result(r.prompt.length, r.cached, r.prefillNanos,
                    now - r.startNanos - r.prefillNanos));
        }
    }

    private void publishUsage() {
        long used = 0;
        for (Slot s : slots) {
            used += s.state.position();
        }
        kvPositionsUsed = used;
    }

    /** A sequence slot: a cache and the tokens it holds, which outlive the request that put them there. */
    private static final class Slot {
        final InferenceState state;
        int[] tokens;
        boolean busy;
        long lastUsed;

        Slot(InferenceState state) {
            this.state = state;
            this.tokens = new int[64];
        }

        int commonPrefix(int[] prompt) {
            int n = Math.min(state.position(), prompt.length);
            int i = 0;
            while (i < n && tokens[i] == prompt[i]) {
                i++;
            }
            return i;
        }

        /** Empty slots first, then the least recently used. */
        boolean cheaperToEvict(Slot other) {
            boolean empty = state.position() == 0;
            if (empty != (other.state.position() == 0)) {
                return empty;
            }
            return lastUsed < other.lastUsed;
        }

        void take(int keep) {
            busy = true;
            state.truncate(keep);
        }

        void release(long now) {
            busy = false;
            lastUsed = now;
        }

        void reset() {
            state.truncate(0);
            busy = false;
        }

        /** Adds tokens to the next pass and records them as this slot's. */
        void append(ForwardBatch batch, int[] ids, int offset, int n, int llamaBatchTokens, boolean logits) {
            int at = state.position();
            batch.add(state, ids, offset, n, llamaBatchTokens, logits);
            if (tokens.length < at + n) {
                tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, at + n));
            }
            System.arraycopy(ids, offset, tokens, at, n);
        }
    }

    /** A request and its progress; fields other than {@link #future} belong to the driver thread. */
    private static final class Request {
        final int[] prompt;
        final GenerationRequest request;
        final Consumer<String> onText;
        final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        Slot slot;
        SequenceDecoder decoder;
        int cached;
        /** Prompt tokens in the cache so far. */
        int evaluated;
        /** The last sampled token, appended by the next pass. */
        final int[] next = new int[1];
        /** Whether the last pass produced logits to sample from. */
        boolean sampleNow;
        long startNanos;
        long prefillNanos = -1;

        Request(int[] prompt, GenerationRequest request, Consumer<String> onText) {
            this.prompt = prompt;
            this.request = request;
            this.onText = onText;
        }

        boolean decoding() {
            return evaluated == prompt.length;
        }
    }
}
