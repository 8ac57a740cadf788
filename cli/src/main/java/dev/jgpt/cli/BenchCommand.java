package dev.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jgpt.api.ModelCatalog;
import dev.jgpt.engine.model.ForwardBatch;
import dev.jgpt.engine.model.InferenceState;
import dev.jgpt.engine.model.LogProbabilities;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code jgpt bench}: prompt-processing and generation speed, like llama-bench: random prompt tokens,
 * the median of several repetitions, tokens per second.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prompt processing (pp) and generation (tg) speed in tokens per second.")
final class BenchCommand implements Callable<Integer> {
    /** The longest warm-up: the JIT of a 2-core machine takes several seconds on the kernels. */
    private static final long MAX_WARM_UP_NANOS = 60_000_000_000L;
    private static final long QUIET_JIT_MILLIS = 20;
    /** How long the quiet rounds must run in a row at least, however many they are. */
    private static final long QUIET_NANOS = 3_000_000_000L;

    @Option(names = "--model", description = "GGUF model file or name")
    String model;

    @Option(names = "--threads", description = "Threads (default: all cores)")
    Integer threads;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length for pp (default: ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "64", description = "Tokens generated for tg (default: ${DEFAULT-VALUE})")
    int genTokens;

    @Option(names = "--batch", defaultValue = "1", description = "Concurrent sequences for the batched generation rate; "
            + "single tokens are then measured again (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--repetitions", defaultValue = "5", description = "Repetitions; the median is reported (default: ${DEFAULT-VALUE})")
    int repetitions;

    @Option(names = "--json", description = "Print one JSON object instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        EngineThreads.configure(threads);
        if (promptTokens < 1 || genTokens < 1 || batch < 1 || repetitions < 1) {
            throw new CliException("--prompt-tokens, --gen-tokens, --batch and --repetitions must be at least 1");
        }
        Path file = ModelLocator.resolve(model);
        // the file's name, as the server names models: general.name often names the unquantized original
        String name = ModelCatalog.nameOf(file);
        try (Model m = Model.load(file)) {
            Transformer tf = m.transformer();
            int ctx = promptTokens + genTokens + 1;
            if (ctx > m.config().contextLength()) {
                throw new CliException("--prompt-tokens + --gen-tokens (" + (ctx - 1) + ") exceed the model's context of "
                        + m.config().contextLength());
            }
            SplittableRandom random = new SplittableRandom(42);
            int vocab = m.config().vocabSize();
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = random.nextInt(vocab);
            }
            InferenceState state = tf.newState(ctx);
            double[] pp = new double[repetitions];
            double[] tg = new double[repetitions];
            int[] one = new int[1];
            // Warm-up rounds first, as in llama-bench, but until the JIT has settled: C2 compiles the Vector API
            // kernels in the background for seconds, on one of the cores the measured rounds need.
            warmUp(() -> round(tf, state, prompt, one));
            for (int r = 0; r < repetitions; r++) {
                double[] rates = round(tf, state, prompt, one);
                pp[r] = rates[0];
                tg[r] = rates[1];
            }
            double ppMedian = median(pp);
            double tgMedian = median(tg);
            double batchRate = batch > 1 ? batchedGeneration(tf, prompt, ctx) : tgMedian;
            // Single tokens again, now that batches have run, as a server's are: code compiled for the batch
            // once made C2 recompile a shared method, and single tokens ran up to 40% slower after it
            // (docs/performance.md, twenty-second session), which the first tg figure could not show.
            double tgAfter = batch > 1 ? tgAfterBatch(tf, state, prompt, one) : tgMedian;
            int usedThreads = Integer.getInteger(EngineThreads.PROPERTY, Runtime.getRuntime().availableProcessors());
            if (json) {
                ObjectNode out = new ObjectMapper().createObjectNode();
                out.put("model", name);
                out.put("threads", usedThreads);
                out.put("pp_tps", round(ppMedian));
                out.put("tg_tps", round(tgMedian));
                out.put("batch", batch);
                out.put("batch_tg_tps", round(batchRate));
                out.put("tg_after_batch_tps", round(tgAfter));
                System.out.println(out);
            } else {
                System.out.printf("model %s, %d threads%n", name, usedThreads);
                System.out.printf("pp%-5d %10.1f tokens/s%n", promptTokens, ppMedian);
                System.out.printf("tg%-5d %10.1f tokens/s%n", genTokens, tgMedian);
                if (batch > 1) {
                    System.out.printf("tg%d x%d %8.1f tokens/s (aggregate)%n", genTokens, batch, batchRate);
                    System.out.printf("tg%-5d %10.1f tokens/s (after the batch)%n", genTokens, tgAfter);
                }
            }
        }
        return 0;
    }

    /** One prompt of {@code prompt.length} tokens, then {@link #genTokens} single-token steps: both rates. */
    private double[] round(Transformer tf, InferenceState state, int[] prompt, int[] one) {
        state.truncate(0);
        long t0 = System.nanoTime();
        tf.forward(state, prompt, 0, prompt.length);
        double ppRate = prompt.length * 1e9 / (System.nanoTime() - t0);

        state.truncate(0);
        one[0] = prompt[0];
        long t1 = System.nanoTime();
        for (int g = 0; g < genTokens; g++) {
            tf.forward(state, one, 0, 1);
            one[0] = LogProbabilities.argmax(state.logits());
        }
        double tgRate = genTokens * 1e9 / (System.nanoTime() - t1);
        return new double[] {ppRate, tgRate};
    }

    /**
     * Runs {@code round} until the rounds of the last 3 s ({@link #QUIET_NANOS}; two rounds at least) each
     * finished no more than {@value #QUIET_JIT_MILLIS} ms of JIT compilation, for at most a minute: with a
     * single warm-up round, background compilations still running in the measured rounds made the same
     * build's figures differ up to 2x. Not a fixed number of rounds, nor just two quiet ones: a tiny model's
     * round (one prompt, then single tokens) is so short that code run once per prompt is still in C1's
     * profiling tier when two rounds in a row compile little. On tiny-llama-q8_0 (70 ms rounds) C2 compiled
     * the prompt's activation layout ({@code Q8_0Activations.pairActivations}) only 9.7 s into the run, after
     * warm-ups of ~8 s had ended, and the measured prompts of 4 runs in 6 took 3x as long as those of the
     * others (4 361-7 599 against 12 444-15 924 tokens/s).
     */
    private static void warmUp(Runnable round) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        int quiet = 0;
        long start = System.nanoTime();
        long quietSince = start;
        while ((quiet < 2 || System.nanoTime() - quietSince < QUIET_NANOS)
                && System.nanoTime() - start < MAX_WARM_UP_NANOS) {
            long before = timed ? jit.getTotalCompilationTime() : 0;
            long roundStart = System.nanoTime();
            round.run();
            if (!timed || jit.getTotalCompilationTime() - before <= QUIET_JIT_MILLIS) {
                if (quiet++ == 0) {
                    quietSince = roundStart;
                }
            } else {
                quiet = 0;
            }
        }
    }

    /**
     * Aggregate generation rate of {@code batch} sequences decoding in shared forward passes (each weight
     * matrix is read once per step for all of them), the median of the repetitions after a warm-up.
     */
    private double batchedGeneration(Transformer tf, int[] prompt, int ctx) {
        InferenceState[] states = new InferenceState[batch];
        for (int b = 0; b < batch; b++) {
            states[b] = tf.newState(ctx);
        }
        ForwardBatch step = tf.newBatch(batch, batch);
        int[] next = new int[batch];
        warmUp(() -> decodeTogether(tf, states, step, next, prompt, genTokens));
        double[] rates = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            long t0 = System.nanoTime();
            decodeTogether(tf, states, step, next, prompt, genTokens);
            rates[r] = (double) batch * genTokens * 1e9 / (System.nanoTime() - t0);
        }
        return median(rates);
    }

    /** The median single-token rate of {@link #repetitions} more rounds (warm already: no warm-up). */
    private double tgAfterBatch(Transformer tf, InferenceState state, int[] prompt, int[] one) {
        double[] tg = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            tg[r] = round(tf, state, prompt, one)[1];
        }
        return median(tg);
    }

    /** Restarts every sequence from its own first token and decodes {@code steps} greedy steps in lockstep. */
    private static void decodeTogether(Transformer tf, InferenceState[] states, ForwardBatch step, int[] next,
                                       int[] prompt, int steps) {
        for (int b = 0; b < states.length; b++) {
            states[b].truncate(0);
            next[b] = prompt[b % prompt.length];
        }
        for (int g = 0; g < steps; g++) {
            for (int b = 0; b < states.length; b++) {
                step.add(states[b], next, b, 1, 1, true);
            }
            tf.forward(step);
            for (int b = 0; b < states.length; b++) {
                next[b] = LogProbabilities.argmax(states[b].logits());
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
