package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.SamplingFields;
import dev.jgpt.engine.sampling.SamplingParams;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * The sampling and stopping fields of a request, checked against OpenAI's ranges and turned into the
 * engine's {@link SamplingParams}. Fields left out take llama.cpp's defaults (temperature 0.8, top-k 40,
 * top-p 0.95, min-p 0.05), which suit local models better than pure temperature-1 sampling.
 *
 * @param maxTokens the requested answer length, or null for "as much as the context allows"
 */
record GenerationOptions(SamplingParams sampling, Integer maxTokens, List<String> stop) {

    static GenerationOptions from(SamplingFields f, Integer maxTokens, String maxTokensParam, long defaultSeed) {
        Choices.count(f.n());
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.invalidRequest(maxTokensParam, "Invalid '" + maxTokensParam + "': " + maxTokens
                    + ". Expected a value >= 1.");
        }
        SamplingParams d = SamplingParams.defaults();
        float temperature = range("temperature", f.temperature(), 0, 2, d.temperature());
        float topP = range("top_p", f.topP(), 0, 1, d.topP());
        float frequency = range("frequency_penalty", f.frequencyPenalty(), -2, 2, 0);
        float presence = range("presence_penalty", f.presencePenalty(), -2, 2, 0);
        float minP = range("min_p", f.minP(), 0, 1, d.minP());
        float repeat = f.repeatPenalty() == null ? d.repeatPenalty() : (float) (double) f.repeatPenalty();
        if (!(repeat > 0)) {
            throw ApiException.invalidRequest("repeat_penalty", "Invalid 'repeat_penalty': " + f.repeatPenalty()
                    + ". Expected a value > 0.");
        }
        int topK = f.topK() == null ? d.topK() : f.topK();
        if (topK < 0) {
            throw ApiException.invalidRequest("top_k", "Invalid 'top_k': " + topK + ". Expected a value >= 0.");
        }
        if (topP == 0) {
            // top_p 0 keeps only the most likely token; the engine expresses that as top-k 1.
            topK = 1;
            topP = 1;
        }
        long seed = f.seed() != null ? f.seed() : defaultSeed;
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, repeat, d.repeatLastN(),
                frequency, presence, seed, Map.of());
        List<String> stop = f.stop() == null ? List.of() : f.stop();
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i) == null) {
                throw ApiException.invalidRequest("stop", "Invalid 'stop[" + i + "]': expected a string, got null.");
            }
        }
        return new GenerationOptions(sampling, maxTokens, stop);
    }

    /** Adds {@code logit_bias} (token id → bias in [-100, 100]) once the model's vocabulary is known. */
    GenerationOptions withLogitBias(Map<String, Double> logitBias, IntPredicate isToken) {
        if (logitBias == null || logitBias.isEmpty()) {
            return this;
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (Map.Entry<String, Double> e : logitBias.entrySet()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw ApiException.invalidRequest("logit_bias", "Invalid key in 'logit_bias': '" + e.getKey()
                        + "'. Keys are token ids (integers as strings).");
            }
            if (!isToken.test(id)) {
                throw ApiException.invalidRequest("logit_bias", "Invalid key in 'logit_bias': token id " + id
                        + " is not in the model's vocabulary.");
            }
            Double v = e.getValue();
            if (v == null || v < -100 || v > 100) {
                throw ApiException.invalidRequest("logit_bias", "Invalid value in 'logit_bias' for token " + id
                        + ": " + v + ". Expected a number between -100 and 100.");
            }
            bias.put(id, (float) (double) v);
        }
        return new GenerationOptions(sampling.withLogitBias(bias), maxTokens, stop);
    }

    private static float range(String param, Double value, double min, double max, float fallback) {
        if (value == null) {
            return fallback;
        }
        if (!(value >= min && value <= max)) {
            throw ApiException.invalidRequest(param, "Invalid '" + param + "': " + value + ". Expected a value between "
                    + trim(min) + " and " + trim(max) + ".");
        }
        return (float) (double) value;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
