package dev.jgpt.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.api.OpenAiProtocol.SamplingFields;

import java.util.List;
import java.util.Map;

/**
 * Request, response and stream-event shapes of OpenAI's Responses API ({@code POST /v1/responses}), with
 * every field the official SDKs require present (null where jgpt has nothing to say).
 */
final class ResponsesProtocol {
    private ResponsesProtocol() {
    }

    /**
     * {@code input} is a string or an array of input items; the sampling extensions (seed, stop, top_k ...)
     * are accepted as on the chat endpoint.
     */
    record ResponseRequest(
            String model,
            JsonNode input,
            String instructions,
            Integer maxOutputTokens,
            Double temperature,
            Double topP,
            Boolean stream,
            String previousResponseId,
            Boolean store,
            Map<String, String> metadata,
            JsonNode tools,
            JsonNode toolChoice,
            Boolean parallelToolCalls,
            JsonNode text,
            String user,
            Long seed,
            @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
            Double frequencyPenalty,
            Double presencePenalty,
            Map<String, Double> logitBias,
            Integer n,
            Integer topK,
            Double minP,
            Double repeatPenalty) implements SamplingFields {
    }

    /**
     * A response object: {@code status} is in_progress, completed, incomplete or failed; {@code output} holds
     * {@link OutputMessage}s and {@link FunctionCallItem}s.
     */
    record Response(String id, String object, long createdAt, String status, ResponseError error,
                    IncompleteDetails incompleteDetails, String instructions, Integer maxOutputTokens, String model,
                    List<Object> output, boolean parallelToolCalls, String previousResponseId, boolean store,
                    double temperature, TextConfig text, Object toolChoice, Object tools, double topP,
                    String truncation, ResponseUsage usage, String user, Map<String, String> metadata) {
    }

    record ResponseError(String code, String message) {
    }

    record IncompleteDetails(String reason) {
    }

    /** {@code format} echoes the request's {@code text.format} ({@code {"type": "text"}} by default). */
    record TextConfig(Object format) {
    }

    record OutputMessage(String type, String id, String status, String role, List<OutputText> content) {
    }

    /** A call of one of the request's function tools; {@code arguments} is a JSON text. */
    record FunctionCallItem(String type, String id, String callId, String name, String arguments, String status) {
    }

    record OutputText(String type, String text, List<Object> annotations, List<Object> logprobs) {
        static OutputText of(String text) {
            return new OutputText("output_text", text, List.of(), List.of());
        }
    }

    record ResponseUsage(int inputTokens, InputTokensDetails inputTokensDetails, int outputTokens,
                         OutputTokensDetails outputTokensDetails, int totalTokens) {
        static ResponseUsage of(int input, int cached, int output) {
            return new ResponseUsage(input, new InputTokensDetails(cached, 0), output, new OutputTokensDetails(0),
                    input + output);
        }
    }

    /** {@code cache_write_tokens} is OpenAI's prompt-cache accounting, which jgpt does not have (always 0). */
    record InputTokensDetails(int cachedTokens, int cacheWriteTokens) {
    }

    record OutputTokensDetails(int reasoningTokens) {
    }

    // ---- stream event bodies (type and sequence_number are added by ResponseEventStream) ----

    record ResponseEvent(Response response) {
    }

    record OutputItemEvent(int outputIndex, Object item) {
    }

    record ContentPartEvent(String itemId, int outputIndex, int contentIndex, OutputText part) {
    }

    record TextDeltaEvent(String itemId, int outputIndex, int contentIndex, String delta, List<Object> logprobs) {
    }

    record TextDoneEvent(String itemId, int outputIndex, int contentIndex, String text, List<Object> logprobs) {
    }

    record ArgumentsDeltaEvent(String itemId, int outputIndex, String delta) {
    }

    record ArgumentsDoneEvent(String itemId, int outputIndex, String name, String arguments) {
    }

    record ErrorEvent(String code, String message, String param) {
    }
}
