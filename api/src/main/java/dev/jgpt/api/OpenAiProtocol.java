package dev.jgpt.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * Request and response shapes of the OpenAI API endpoints jgpt serves, field for field (snake_case on the
 * wire, see {@link Json}). Requests use boxed types so that "absent" is distinguishable from a value.
 */
public final class OpenAiProtocol {
    private OpenAiProtocol() {
    }

    // ---- requests ----

    /** Fields common to chat and text completions that decide how tokens are drawn and when to stop. */
    public interface SamplingFields {
        Double temperature();

        Double topP();

        Long seed();

        List<String> stop();

        Double frequencyPenalty();

        Double presencePenalty();

        Map<String, Double> logitBias();

        Integer n();

        /** llama.cpp extensions, accepted because local-model clients send them. */
        Integer topK();

        Double minP();

        Double repeatPenalty();
    }

    public record ChatCompletionRequest(
            String model,
            List<ChatMessage> messages,
            Boolean stream,
            StreamOptions streamOptions,
            Integer maxTokens,
            Integer maxCompletionTokens,
            Double temperature,
            Double topP,
            Long seed,
            @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
            Double frequencyPenalty,
            Double presencePenalty,
            Map<String, Double> logitBias,
            Integer n,
            Boolean logprobs,
            Integer topLogprobs,
            JsonNode tools,
            JsonNode toolChoice,
            JsonNode responseFormat,
            String user,
            Integer topK,
            Double minP,
            Double repeatPenalty) implements SamplingFields {
    }

    /** {@code content} is a string, an array of content parts, or null (see {@link ChatMessages}). */
    public record ChatMessage(String role, JsonNode content, String name, String toolCallId, JsonNode toolCalls) {
    }

    public record StreamOptions(Boolean includeUsage) {
    }

    /** {@code prompt} is a string, an array of strings, an array of token ids or an array of token-id arrays. */
    public record CompletionRequest(
            String model,
            JsonNode prompt,
            Boolean stream,
            StreamOptions streamOptions,
            Integer maxTokens,
            Double temperature,
            Double topP,
            Long seed,
            @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
            Double frequencyPenalty,
            Double presencePenalty,
            Map<String, Double> logitBias,
            Integer n,
            Integer logprobs,
            Boolean echo,
            String suffix,
            Integer bestOf,
            String user,
            Integer topK,
            Double minP,
            Double repeatPenalty) implements SamplingFields {
    }

    /**
     * {@code input} is a string, an array of strings, an array of token ids or an array of token-id arrays;
     * {@code encoding_format} is {@code float} (default) or {@code base64}.
     */
    public record EmbeddingRequest(String model, JsonNode input, String encodingFormat, Integer dimensions,
                                   String user) {
    }

    // ---- responses ----

    public record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
        static Usage of(int prompt, int cached, int completion) {
            return new Usage(prompt, completion, prompt + completion, new PromptTokensDetails(cached));
        }
    }

    public record PromptTokensDetails(int cachedTokens) {
    }

    public record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices,
                                 Usage usage) {
    }

    public record ChatChoice(int index, AssistantMessage message, Object logprobs, String finishReason) {
    }

    public record AssistantMessage(String role, String content, String refusal,
                                   @JsonInclude(JsonInclude.Include.NON_NULL) List<ToolCall> toolCalls) {
        public AssistantMessage(String role, String content, String refusal) {
            this(role, content, refusal, null);
        }
    }

    public record ChatCompletionChunk(String id, String object, long created, String model,
                                      List<ChunkChoice> choices,
                                      @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    }

    public record ChunkChoice(int index, Delta delta, Object logprobs, String finishReason) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, List<ToolCallDelta> toolCalls) {
        public Delta(String role, String content) {
            this(role, content, null);
        }
    }

    /** A function call the assistant makes; {@code arguments} is a JSON text. */
    public record ToolCall(String id, String type, FunctionCall function) {
    }

    public record FunctionCall(String name, String arguments) {
    }

    /** A tool call in a stream chunk: its position among the message's calls, and (here) the whole call. */
    public record ToolCallDelta(int index, String id, String type, FunctionCall function) {
    }

    /** A text completion, streamed or not (chunks have the same shape, {@code usage} only in the last). */
    public record TextCompletion(String id, String object, long created, String model, List<TextChoice> choices,
                                 @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    }

    public record TextChoice(int index, String text, Object logprobs, String finishReason) {
    }

    /** A chat choice's log-probabilities: one entry per generated token ({@code refusal} is always null). */
    public record ChatLogprobs(List<ChatTokenLogprob> content, List<ChatTokenLogprob> refusal) {
    }

    /** A token as text, its UTF-8 bytes, its log-probability and the most likely alternatives at its place. */
    public record ChatTokenLogprob(String token, double logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {
    }

    public record TopLogprob(String token, double logprob, List<Integer> bytes) {
    }

    /**
     * A text completion's log-probabilities in the legacy shape: parallel lists with an entry per token
     * ({@code null} log-probability and alternatives for the first echoed prompt token) and each token's
     * character offset in the choice's text.
     */
    public record CompletionLogprobs(List<String> tokens, List<Double> tokenLogprobs,
                                     List<Map<String, Double>> topLogprobs, List<Integer> textOffset) {
    }

    /** {@code embedding} is a list of floats or, for {@code encoding_format: base64}, a base64 string. */
    public record Embedding(String object, Object embedding, int index) {
    }

    public record EmbeddingList(String object, List<Embedding> data, String model, EmbeddingUsage usage) {
    }

    public record EmbeddingUsage(int promptTokens, int totalTokens) {
    }

    public record ModelList(String object, List<ModelCard> data) {
    }

    public record ModelCard(String id, String object, long created, String ownedBy) {
    }

    public record ErrorBody(Error error) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Error(String message, String type, String param, String code) {
    }
}
