package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.api.OpenAiProtocol.CompletionRequest;
import dev.jgpt.api.OpenAiProtocol.TextChoice;
import dev.jgpt.api.OpenAiProtocol.TextCompletion;
import dev.jgpt.api.OpenAiProtocol.Usage;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.time.Clock;
import java.util.List;

/** {@code POST /v1/completions}: text continuation of a prompt (no chat template), as JSON or streamed. */
final class CompletionHandler implements Handler {
    /** OpenAI's default length for legacy completions. */
    private static final int DEFAULT_MAX_TOKENS = 16;

    private final ModelCatalog catalog;
    private final Clock clock;

    CompletionHandler(ModelCatalog catalog, Clock clock) {
        this.catalog = catalog;
        this.clock = clock;
    }

    @Override
    public void handle(Context ctx) throws Exception {
        CompletionRequest req = Json.read(ctx.bodyAsBytes(), CompletionRequest.class);
        if (req.model() == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        String promptText = promptText(req.prompt());
        rejectUnsupported(req);
        GenerationOptions options = GenerationOptions.from(req,
                req.maxTokens() != null ? req.maxTokens() : DEFAULT_MAX_TOKENS, "max_tokens", RequestIds.seed());
        boolean stream = Boolean.TRUE.equals(req.stream());
        boolean includeUsage = stream && req.streamOptions() != null
                && Boolean.TRUE.equals(req.streamOptions().includeUsage());
        ServedModel served = catalog.find(req.model());
        String id = RequestIds.next("cmpl-");
        long created = clock.instant().getEpochSecond();

        served.run(model -> {
            GenerationOptions opts = options.withLogitBias(req.logitBias(), t -> t >= 0 && t < model.vocabularySize());
            int[] prompt = model.textPrompt(promptText);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), "prompt");
            GenerationRequest request = new GenerationRequest(opts.sampling(), maxTokens, opts.stop());
            if (!stream) {
                GenerationResult r = model.generate(prompt, request, piece -> { });
                ctx.contentType("application/json").result(Json.write(completion(id, created, served.name(),
                        r.text(), FinishReasons.of(r), usage(r))));
                return null;
            }
            StreamedGeneration.run(new SseStream(ctx), new StreamedGeneration.Events() {
                @Override
                public Object start() {
                    return completion(id, created, served.name(), "", null, null);
                }

                @Override
                public Object text(String piece) {
                    return completion(id, created, served.name(), piece, null, null);
                }

                @Override
                public Object finish(GenerationResult r) {
                    return completion(id, created, served.name(), "", FinishReasons.of(r), null);
                }

                @Override
                public Object usage(GenerationResult r) {
                    return includeUsage ? new TextCompletion(id, "text_completion", created, served.name(), List.of(),
                            CompletionHandler.usage(r)) : null;
                }
            }, model, prompt, request);
            return null;
        });
    }

    private static TextCompletion completion(String id, long created, String model, String text, String finishReason,
                                             Usage usage) {
        return new TextCompletion(id, "text_completion", created, model,
                List.of(new TextChoice(0, text, null, finishReason)), usage);
    }

    private static Usage usage(GenerationResult r) {
        return Usage.of(r.promptTokens(), r.cachedTokens(), r.completionTokens());
    }

    /** A string, or an array holding exactly one string. */
    private static String promptText(JsonNode prompt) {
        if (prompt == null || prompt.isNull()) {
            throw ApiException.invalidRequest("prompt", "Missing required parameter: 'prompt'.");
        }
        if (prompt.isTextual()) {
            return prompt.textValue();
        }
        if (prompt.isArray()) {
            if (prompt.size() == 1 && prompt.get(0).isTextual()) {
                return prompt.get(0).textValue();
            }
            if (prompt.size() > 1 && prompt.get(0).isTextual()) {
                throw ApiException.unsupported("prompt", "A batch of prompts is not supported yet; send one prompt"
                        + " per request.");
            }
            throw ApiException.unsupported("prompt", "Token-id prompts are not supported yet; send the prompt as a"
                    + " string.");
        }
        throw ApiException.invalidRequest("prompt", "Invalid type for 'prompt': expected a string, but got "
                + JsonTypes.describe(prompt) + ".");
    }

    private static void rejectUnsupported(CompletionRequest req) {
        if (req.logprobs() != null) {
            throw ApiException.unsupported("logprobs", "'logprobs' are not supported by this server yet.");
        }
        if (Boolean.TRUE.equals(req.echo())) {
            throw ApiException.unsupported("echo", "'echo' is not supported by this server yet.");
        }
        if (req.suffix() != null) {
            throw ApiException.unsupported("suffix", "'suffix' (fill-in-the-middle) is not supported by this server"
                    + " yet.");
        }
        if (req.bestOf() != null && req.bestOf() != 1) {
            throw ApiException.unsupported("best_of", "'best_of' other than 1 is not supported by this server yet.");
        }
    }
}
