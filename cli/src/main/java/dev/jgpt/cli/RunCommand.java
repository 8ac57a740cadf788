package dev.jgpt.cli;

import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.Generator;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jgpt run}: one answer to {@code --prompt}, streamed to stdout, or without it a chat in the
 * terminal that keeps the conversation (and its cache, so each turn costs only its new tokens).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Answer a prompt (streamed to stdout), or chat in the terminal when no --prompt is given.")
final class RunCommand implements Callable<Integer> {
    @Option(names = "--model", description = "GGUF model file, or a model name in the model directory")
    String model;

    @Option(names = "--prompt", description = "The user's message; without it, an interactive chat starts")
    String prompt;

    @Option(names = "--system", description = "System message")
    String system;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Top-k (0 = off; default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Top-p (default: ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "Min-p (default: ${DEFAULT-VALUE})")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Repetition penalty (default: ${DEFAULT-VALUE})")
    float repeatPenalty;

    @Option(names = "--seed", description = "Random seed for reproducible output")
    Long seed;

    @Option(names = {"--max-tokens", "-n"}, defaultValue = "-1", description = "Maximum tokens per answer (-1: until the context is full)")
    int maxTokens;

    @Option(names = "--ctx-size", defaultValue = "4096", description = "Context size in tokens, at most the model's (default: ${DEFAULT-VALUE})")
    int contextSize;

    @Option(names = "--stop", description = "Stop string (repeatable)")
    List<String> stops = new ArrayList<>();

    @Option(names = "--threads", description = "Threads for matrix products (default: all cores)")
    Integer threads;

    @Option(names = "--verbose", description = "Print timings (tokens per second) to stderr after each answer")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        EngineThreads.configure(threads);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Model m = Model.load(ModelLocator.resolve(model))) {
            int ctx = Math.min(contextSize, m.config().contextLength());
            Generator generator = new Generator(m.transformer(), m.tokenizer());
            Generator.Sequence sequence = generator.newSequence(ctx);
            SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, 64, 0f, 0f,
                    seed != null ? seed : System.nanoTime(), Map.of());
            GenerationRequest request = new GenerationRequest(sampling, maxTokens < 0 ? Integer.MAX_VALUE : maxTokens,
                    stops);
            List<Map<String, Object>> messages = new ArrayList<>();
            if (system != null) {
                messages.add(message("system", system));
            }
            if (prompt != null) {
                messages.add(message("user", prompt));
                answer(m, generator, sequence, messages, request, out);
                return 0;
            }
            chat(m, generator, sequence, messages, request, out);
        }
        return 0;
    }

    private void chat(Model m, Generator generator, Generator.Sequence sequence, List<Map<String, Object>> messages,
                      GenerationRequest request, PrintStream out) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.err.println("Chatting with " + m.name() + ". Type /bye to quit, /clear to start over.");
        while (true) {
            out.print(">>> ");
            out.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("/bye") || line.strip().equals("/exit")) {
                out.println();
                return;
            }
            if (line.isBlank()) {
                continue;
            }
            if (line.strip().equals("/clear")) {
                messages.removeIf(msg -> !"system".equals(msg.get("role")));
                System.err.println("(conversation cleared)");
                continue;
            }
            messages.add(message("user", line));
            try {
                answer(m, generator, sequence, messages, request, out);
            } catch (dev.jgpt.engine.model.ContextOverflowException e) {
                // Keep the chat alive: forget the turn that did not fit and tell the user.
                messages.removeLast();
                System.err.println("jgpt: " + e.getMessage() + " (use /clear to start over)");
            }
        }
    }

    private void answer(Model m, Generator generator, Generator.Sequence sequence, List<Map<String, Object>> messages,
                        GenerationRequest request, PrintStream out) {
        int[] tokens = m.chatPromptTokens(messages, null);
        GenerationResult result = generator.generate(sequence, tokens, request, piece -> {
            out.print(piece);
            out.flush();
        });
        out.println();
        messages.add(message("assistant", result.text()));
        if (verbose) {
            System.err.printf("[prompt: %d tokens (%d cached), %.1f tokens/s | answer: %d tokens, %.1f tokens/s, %s]%n",
                    result.promptTokens(), result.cachedTokens(), result.promptTokensPerSecond(),
                    result.completionTokens(), result.generationTokensPerSecond(),
                    result.finishReason().name().toLowerCase());
        }
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> msg = new HashMap<>();
        msg.put("role", role);
        msg.put("content", content);
        return msg;
    }
}
