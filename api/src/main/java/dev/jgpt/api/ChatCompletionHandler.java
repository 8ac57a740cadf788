package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.AssistantMessage;
import dev.jgpt.api.OpenAiProtocol.ChatChoice;
import dev.jgpt.api.OpenAiProtocol.ChatCompletion;
import dev.jgpt.api.OpenAiProtocol.ChatCompletionChunk;
import dev.jgpt.api.OpenAiProtocol.ChatCompletionRequest;
import dev.jgpt.api.OpenAiProtocol.ChunkChoice;
import dev.jgpt.api.OpenAiProtocol.Delta;
import dev.jgpt.api.OpenAiProtocol.Usage;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/** {@code POST /v1/chat/completions}: one answer to a conversation, as JSON or as a stream of chunks. */
final class ChatCompletionHandler implements Handler {
    private final ModelCatalog catalog;
    private final Clock clock;

    ChatCompletionHandler(ModelCatalog catalog, Clock clock) {
        this.catalog = catalog;
        this.clock = clock;
    }

    @Override
    public void handle(Context ctx) throws Exception {
        ChatCompletionRequest req = Json.read(ctx.bodyAsBytes(), ChatCompletionRequest.class);
        if (req.model() == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        List<Map<String, Object>> messages = ChatMessages.toTemplateMessages(req.messages());
        rejectUnsupported(req);
        boolean newName = req.maxCompletionTokens() != null;
        GenerationOptions options = GenerationOptions.from(req,
                newName ? req.maxCompletionTokens() : req.maxTokens(),
                newName ? "max_completion_tokens" : "max_tokens", RequestIds.seed());
        boolean stream = Boolean.TRUE.equals(req.stream());
        boolean includeUsage = stream && req.streamOptions() != null
                && Boolean.TRUE.equals(req.streamOptions().includeUsage());
        ServedModel served = catalog.find(req.model());
        String id = RequestIds.next("chatcmpl-");
        long created = clock.instant().getEpochSecond();

        served.run(model -> {
            GenerationOptions opts = options.withLogitBias(req.logitBias(), t -> t >= 0 && t < model.vocabularySize());
            int[] prompt = model.chatPrompt(messages);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), "messages");
            GenerationRequest request = new GenerationRequest(opts.sampling(), maxTokens, opts.stop());
            if (!stream) {
                GenerationResult r = model.generate(prompt, request, piece -> { });
                ctx.contentType("application/json").result(Json.write(new ChatCompletion(id, "chat.completion", created,
                        served.name(), List.of(new ChatChoice(0, new AssistantMessage("assistant", r.text(), null), null,
                        FinishReasons.of(r))), usage(r))));
                return null;
            }
            StreamedGeneration.run(new SseStream(ctx), new StreamedGeneration.Events() {
                @Override
                public Object start() {
                    return chunk(new Delta("assistant", ""), null, null);
                }

                @Override
                public Object text(String piece) {
                    return chunk(new Delta(null, piece), null, null);
                }

                @Override
                public Object finish(GenerationResult r) {
                    return chunk(new Delta(null, null), FinishReasons.of(r), null);
                }

                @Override
                public Object usage(GenerationResult r) {
                    return includeUsage ? new ChatCompletionChunk(id, "chat.completion.chunk", created, served.name(),
                            List.of(), ChatCompletionHandler.usage(r)) : null;
                }

                private ChatCompletionChunk chunk(Delta delta, String finishReason, Usage usage) {
                    return new ChatCompletionChunk(id, "chat.completion.chunk", created, served.name(),
                            List.of(new ChunkChoice(0, delta, null, finishReason)), usage);
                }
            }, model, prompt, request);
            return null;
        });
    }

    private static Usage usage(GenerationResult r) {
        return Usage.of(r.promptTokens(), r.cachedTokens(), r.completionTokens());
    }

    private static void rejectUnsupported(ChatCompletionRequest req) {
        if (req.tools() != null && !req.tools().isNull() && !req.tools().isEmpty()) {
            throw ApiException.unsupported("tools", "'tools' are not supported by this server yet.");
        }
        if (Boolean.TRUE.equals(req.logprobs()) || req.topLogprobs() != null) {
            throw ApiException.unsupported(req.topLogprobs() != null ? "top_logprobs" : "logprobs",
                    "'logprobs' are not supported by this server yet.");
        }
        var format = req.responseFormat();
        if (format != null && !format.isNull()) {
            var type = format.get("type");
            if (type == null || !type.isTextual()) {
                throw ApiException.invalidRequest("response_format.type", "Missing required parameter:"
                        + " 'response_format.type'.");
            }
            if (!type.textValue().equals("text")) {
                throw ApiException.unsupported("response_format.type", "'response_format' of type '"
                        + type.textValue() + "' is not supported by this server yet; only 'text' is.");
            }
        }
    }
}
