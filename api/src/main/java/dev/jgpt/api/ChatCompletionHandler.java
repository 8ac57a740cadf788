package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.AssistantMessage;
import dev.jgpt.api.OpenAiProtocol.ChatChoice;
import dev.jgpt.api.OpenAiProtocol.ChatCompletion;
import dev.jgpt.api.OpenAiProtocol.ChatCompletionChunk;
import dev.jgpt.api.OpenAiProtocol.ChatCompletionRequest;
import dev.jgpt.api.OpenAiProtocol.ChatLogprobs;
import dev.jgpt.api.OpenAiProtocol.ChunkChoice;
import dev.jgpt.api.OpenAiProtocol.Delta;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.TokenLogprob;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.time.Clock;
import java.util.ArrayList;
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
        JsonGrammar responseFormat = ResponseFormats.grammar(req.responseFormat());
        ChatTools tools = ChatTools.parse(req.tools(), req.toolChoice());
        int n = Choices.count(req.n());
        int topLogprobs = topLogprobs(req);
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
            StructuredOutput structured = new StructuredOutput(model, tools, responseFormat);
            int[] prompt = structured.prompt(messages);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), "messages");
            List<GenerationRequest> requests = structured.constrain(Choices.requests(opts.sampling(), maxTokens, opts.stop(), n,
                    topLogprobs));
            LogprobShapes logprobs = new LogprobShapes(model);
            if (!stream) {
                List<GenerationResult> results = Choices.generate(model, prompt, requests);
                List<ChatChoice> choices = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    GenerationResult r = results.get(i);
                    AssistantMessage message = structured.message(r);
                    choices.add(new ChatChoice(i, message, topLogprobs >= 0 ? logprobs.chat(r.logprobs()) : null,
                            StructuredOutput.finishReason(message, r)));
                }
                ctx.contentType("application/json").result(Json.write(new ChatCompletion(id, "chat.completion", created,
                        served.name(), choices, Choices.usage(results))));
                return null;
            }
            StreamedGeneration.run(new SseStream(ctx), new StreamedGeneration.Events() {
                @Override
                public Object start(int choice) {
                    return chunk(choice, new Delta("assistant", ""), null, null);
                }

                @Override
                public Object text(int choice, String piece, List<TokenLogprob> tokens) {
                    // An answer read for tool calls is sent whole at the end; its pieces are held back.
                    Delta delta = new Delta(null, structured.readsToolCalls() ? "" : piece);
                    return chunk(choice, delta, topLogprobs >= 0 ? logprobs.chat(tokens) : null, null);
                }

                @Override
                public Object finish(int choice, GenerationResult r) {
                    if (structured.readsToolCalls()) {
                        Delta whole = structured.delta(r);
                        return chunk(choice, whole, null, whole.toolCalls() != null ? "tool_calls" : FinishReasons.of(r));
                    }
                    return chunk(choice, new Delta(null, null), null, FinishReasons.of(r));
                }

                @Override
                public Object usage(List<GenerationResult> results) {
                    return includeUsage ? new ChatCompletionChunk(id, "chat.completion.chunk", created, served.name(),
                            List.of(), Choices.usage(results)) : null;
                }

                private ChatCompletionChunk chunk(int choice, Delta delta, ChatLogprobs tokens, String finishReason) {
                    return new ChatCompletionChunk(id, "chat.completion.chunk", created, served.name(),
                            List.of(new ChunkChoice(choice, delta, tokens, finishReason)), null);
                }
            }, model, prompt, requests);
            return null;
        });
    }

    /** How many alternatives to report per token, or -1 for no log-probabilities. */
    private static int topLogprobs(ChatCompletionRequest req) {
        Integer top = req.topLogprobs();
        if (top != null && (top < 0 || top > GenerationRequest.MAX_TOP_LOGPROBS)) {
            throw ApiException.invalidRequest("top_logprobs", "Invalid 'top_logprobs': " + top
                    + ". Expected a value between 0 and " + GenerationRequest.MAX_TOP_LOGPROBS + ".");
        }
        if (!Boolean.TRUE.equals(req.logprobs())) {
            if (top != null) {
                throw ApiException.invalidRequest("top_logprobs", "'top_logprobs' needs 'logprobs' set to true.");
            }
            return -1;
        }
        return top == null ? 0 : top;
    }
}
