package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.Usage;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.List;

/**
 * A request's {@code n} choices: each is its own generation from the same prompt, seeded apart so that
 * sampled choices differ (choice i uses seed + i, so a seeded request stays reproducible), and their usage
 * counts the prompt once and every choice's tokens.
 */
final class Choices {
    /** OpenAI's upper bound for {@code n}. */
    static final int MAX = 128;

    private Choices() {
    }

    /** The number of choices {@code n} asks for (1 when absent); 400 naming {@code n} when out of range. */
    static int count(Integer n) {
        if (n == null) {
            return 1;
        }
        if (n < 1 || n > MAX) {
            throw ApiException.invalidRequest("n", "Invalid 'n': " + n + ". Expected a value between 1 and " + MAX
                    + ".");
        }
        return n;
    }

    /** One generation request per choice. */
    static List<GenerationRequest> requests(SamplingParams sampling, int maxTokens, List<String> stop, int n,
                                            int topLogprobs) {
        List<GenerationRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new GenerationRequest(sampling.withSeed(sampling.seed() + i), maxTokens, stop, null, topLogprobs));
        }
        return out;
    }

    /** Runs the choices one after the other (the sequence's cache keeps the shared prompt). */
    static List<GenerationResult> generate(TextModel model, int[] prompt, List<GenerationRequest> requests) {
        List<GenerationResult> out = new ArrayList<>(requests.size());
        for (GenerationRequest r : requests) {
            out.add(model.generate(prompt, r, piece -> { }));
        }
        return out;
    }

    /** The prompt once, the tokens of every choice. */
    static Usage usage(List<GenerationResult> results) {
        return usage(results, results.size());
    }

    /**
     * Usage of several prompts' choices, {@code perPrompt} consecutive results for each prompt: every prompt
     * once, the tokens of every choice.
     */
    static Usage usage(List<GenerationResult> results, int perPrompt) {
        int prompt = 0;
        int cached = 0;
        int completion = 0;
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            if (i % perPrompt == 0) {
                prompt += r.promptTokens();
                cached += r.cachedTokens();
            }
            completion += r.completionTokens();
        }
        return Usage.of(prompt, cached, completion);
    }
}
