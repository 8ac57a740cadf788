package dev.jgpt.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * Request and response shapes of the Ollama API endpoints jgpt serves ({@code /api/chat}, {@code /api/generate},
 * {@code /api/tags}, {@code /api/show}, {@code /api/version}), so that Ollama clients work unchanged.
 */
final class OllamaProtocol {
    private OllamaProtocol() {
    }

    // ---- requests ----

    /** {@code stream} defaults to true, as in Ollama. */
    record ChatRequest(String model, List<Message> messages, Boolean stream, Options options, JsonNode format,
                       JsonNode tools, JsonNode keepAlive, JsonNode think) {
    }

    /**
     * A chat message; {@code tool_calls} are {@code [{"function": {"name", "arguments": {...}}}]} (arguments as an
     * object), {@code tool_name} names the tool whose result a {@code tool} message holds.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Message(String role, String content, JsonNode images, JsonNode toolCalls, String toolName) {
        static Message assistant(String content, JsonNode toolCalls) {
            return new Message("assistant", content, null, toolCalls, null);
        }
    }

    /** {@code raw} sends {@code prompt} to the model as is; otherwise it is a user turn in the chat template. */
    record GenerateRequest(String model, String prompt, String system, String suffix, Boolean raw, Boolean stream,
                           Options options, JsonNode format, JsonNode images, JsonNode context, JsonNode keepAlive,
                           JsonNode think) {
    }

    /** The model options jgpt honours; others (num_ctx, num_gpu, ...) are accepted and ignored. */
    record Options(Double temperature, Double topP, Integer topK, Double minP, Long seed, Integer numPredict,
                   @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
                   Double repeatPenalty, Double presencePenalty, Double frequencyPenalty) {
    }

    /** {@code /api/show}: older clients send {@code name}. */
    record ShowRequest(String model, String name) {
    }

    // ---- responses ----

    /** One line of a chat stream, or the whole answer; statistics only on the last ({@code done: true}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatLine(String model, String createdAt, Message message, boolean done, String doneReason,
                    Long totalDuration, Long loadDuration, Integer promptEvalCount, Long promptEvalDuration,
                    Integer evalCount, Long evalDuration) {
    }

    /** One line of a generate stream, or the whole answer. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record GenerateLine(String model, String createdAt, String response, boolean done, String doneReason,
                        Long totalDuration, Long loadDuration, Integer promptEvalCount, Long promptEvalDuration,
                        Integer evalCount, Long evalDuration) {
    }

    record ModelList(List<ModelEntry> models) {
    }

    record ModelEntry(String name, String model, String modifiedAt, long size, String digest, Details details) {
    }

    record Details(String parentModel, String format, String family, List<String> families, String parameterSize,
                   String quantizationLevel) {
    }

    record ShowResponse(String modelfile, String parameters, String template, Details details,
                        Map<String, Object> modelInfo, List<String> capabilities, String modifiedAt) {
    }

    record Version(String version) {
    }

    record Error(String error) {
    }
}
