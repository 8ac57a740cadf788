package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.SamplingFields;

import java.util.List;
import java.util.Map;

/**
 * Ollama's {@code options} as the chat endpoint's sampling fields, checked the same way. {@code num_predict}
 * of -1 (endless), -2 (fill the context) or 0 means "as many tokens as the context allows".
 */
final class OllamaOptions {
    private OllamaOptions() {
    }

    static GenerationOptions toGeneration(OllamaProtocol.Options options) {
        OllamaProtocol.Options o = options != null ? options
                : new OllamaProtocol.Options(null, null, null, null, null, null, null, null, null, null);
        Integer maxTokens = o.numPredict() != null && o.numPredict() > 0 ? o.numPredict() : null;
        return GenerationOptions.from(new Fields(o), maxTokens, "options.num_predict", RequestIds.seed());
    }

    private record Fields(OllamaProtocol.Options o) implements SamplingFields {
        @Override
        public Double temperature() {
            return o.temperature();
        }

        @Override
        public Double topP() {
            return o.topP();
        }

        @Override
        public Long seed() {
            return o.seed();
        }

        @Override
        public List<String> stop() {
            return o.stop();
        }

        @Override
        public Double frequencyPenalty() {
            return o.frequencyPenalty();
        }

        @Override
        public Double presencePenalty() {
            return o.presencePenalty();
        }

        @Override
        public Map<String, Double> logitBias() {
            return null;
        }

        @Override
        public Integer n() {
            return null;
        }

        @Override
        public Integer topK() {
            return o.topK();
        }

        @Override
        public Double minP() {
            return o.minP();
        }

        @Override
        public Double repeatPenalty() {
            return o.repeatPenalty();
        }
    }
}
