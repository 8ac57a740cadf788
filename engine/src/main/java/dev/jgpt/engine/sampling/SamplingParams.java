package dev.jgpt.engine.sampling;

import java.util.Map;

/**
 * How the next token is chosen from the logits. Defaults follow llama.cpp's: temperature 0.8, top-k 40,
 * top-p 0.95, min-p 0.05, no penalties. A temperature of 0 (or below) means greedy decoding.
 *
 * @param repeatPenalty    llama.cpp-style: logits of recently seen tokens are divided (if positive) or
 *                         multiplied (if negative) by this; 1 disables it
 * @param repeatLastN      how many recent tokens the penalties look at (-1: the whole context)
 * @param frequencyPenalty OpenAI-style: subtract {@code count * value} from a seen token's logit
 * @param presencePenalty  OpenAI-style: subtract {@code value} from the logit of any seen token
 * @param seed             random seed; the same seed, prompt and parameters give the same output
 * @param logitBias        added to the logits of the given token ids before anything else
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int repeatLastN,
        float frequencyPenalty,
        float presencePenalty,
        long seed,
        Map<Integer, Float> logitBias) {

    public SamplingParams {
        if (!(temperature >= 0) && !(temperature < 0)) {
            throw new IllegalArgumentException("temperature must be a number");
        }
        if (topP <= 0 || topP > 1) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (minP < 0 || minP > 1) {
            throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        }
        if (repeatPenalty <= 0) {
            throw new IllegalArgumentException("repeat penalty must be positive, got " + repeatPenalty);
        }
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    public static SamplingParams defaults() {
        return new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, System.nanoTime(), Map.of());
    }

    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0f, 0f, 0L, Map.of());
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, seed, logitBias);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, s, logitBias);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, seed, logitBias);
    }

    public SamplingParams withTopP(float p) {
        return new SamplingParams(temperature, topK, p, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, seed, logitBias);
    }

    public SamplingParams withMinP(float p) {
        return new SamplingParams(temperature, topK, topP, p, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, seed, logitBias);
    }

    public SamplingParams withPenalties(float repeat, int lastN, float frequency, float presence) {
        return new SamplingParams(temperature, topK, topP, minP, repeat, lastN, frequency, presence, seed,
                logitBias);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, seed, bias);
    }
}
