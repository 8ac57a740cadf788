package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.CompletionLogprobs;
import dev.jgpt.api.OpenAiProtocol.CompletionRequest;
import dev.jgpt.api.OpenAiProtocol.TextChoice;
import dev.jgpt.api.OpenAiProtocol.TextCompletion;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.TokenLogprob;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/completions}: text continuation of one or more prompts (text or token ids, no chat
 * template), as JSON or streamed, with {@code n} choices per prompt, legacy {@code logprobs}, {@code echo}
 * of the prompt (and its tokens' log-probabilities) and {@code suffix} for fill-in-the-middle on models
 * trained for it.
 */
final class CompletionHandler implements Handler {
    /** OpenAI's default length for legacy completions. */
    private static final int DEFAULT_MAX_TOKENS = 16;
    /** OpenAI's upper bound for the legacy {@code logprobs}. */
    private static final int MAX_LOGPROBS = 5;

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
        List<TextOrTokens> inputs = TextOrTokens.parseAll(req.prompt(), "prompt", true, Integer.MAX_VALUE);
        rejectUnsupported(req, inputs);
        boolean echo = Boolean.TRUE.equals(req.echo());
        int topLogprobs = topLogprobs(req.logprobs());
        // max_tokens 0 with echo scores a prompt without generating (as evaluation harnesses do).
        boolean scoreOnly = echo && req.maxTokens() != null && req.maxTokens() == 0;
        GenerationOptions options = GenerationOptions.from(req, scoreOnly ? null
                : req.maxTokens() != null ? req.maxTokens() : DEFAULT_MAX_TOKENS, "max_tokens", RequestIds.seed());
        int n = Choices.count(req.n());
        boolean stream = Boolean.TRUE.equals(req.stream());
        boolean includeUsage = stream && req.streamOptions() != null
                && Boolean.TRUE.equals(req.streamOptions().includeUsage());
        ServedModel served = catalog.find(req.model());
        String id = RequestIds.next("cmpl-");
        long created = clock.instant().getEpochSecond();

        served.run(model -> {
            GenerationOptions opts = options.withLogitBias(req.logitBias(), t -> t >= 0 && t < model.vocabularySize());
            // Choice p * n + i is the i-th answer to prompt p, as OpenAI numbers them.
            List<int[]> prompts = new ArrayList<>();
            List<GenerationRequest> requests = new ArrayList<>();
            List<Echo> echoes = new ArrayList<>();
            for (int p = 0; p < inputs.size(); p++) {
                TextOrTokens input = inputs.get(p);
                String param = inputs.size() > 1 ? "prompt[" + p + "]" : "prompt";
                int[] prompt = input.tokens() != null ? checkedTokens(model, input.tokens(), param)
                        : req.suffix() != null ? model.infillPrompt(input.text(), req.suffix())
                        : model.textPrompt(input.text());
                int maxTokens = ContextBudget.maxTokens(prompt.length, scoreOnly ? Integer.valueOf(0)
                        : opts.maxTokens(), model.contextSize(), param);
                Echo echoed = echo ? new Echo(input.text() != null ? input.text() : text(model, prompt), prompt,
                        topLogprobs >= 0 ? model.promptLogprobs(prompt, topLogprobs) : null) : null;
                for (GenerationRequest r : Choices.requests(opts.sampling(), maxTokens, opts.stop(), n, topLogprobs)) {
                    prompts.add(prompt);
                    requests.add(r);
                    echoes.add(echoed);
                }
            }
            LogprobShapes shapes = new LogprobShapes(model);
            if (!stream) {
                List<GenerationResult> results = new ArrayList<>(requests.size());
                List<TextChoice> choices = new ArrayList<>(requests.size());
                for (int i = 0; i < requests.size(); i++) {
                    GenerationResult r = model.generate(prompts.get(i), requests.get(i), piece -> { });
                    results.add(r);
                    Echo echoed = echoes.get(i);
                    CompletionLogprobs logprobs = null;
                    if (topLogprobs >= 0) {
                        LogprobShapes.Legacy legacy = startLogprobs(shapes, echoed);
                        r.logprobs().forEach(legacy::add);
                        logprobs = legacy.take();
                    }
                    String text = echoed != null ? echoed.text() + r.text() : r.text();
                    choices.add(new TextChoice(i, text, logprobs, FinishReasons.of(r)));
                }
                ctx.contentType("application/json").result(Json.write(new TextCompletion(id, "text_completion",
                        created, served.name(), choices, Choices.usage(results, n))));
                return null;
            }
            StreamedGeneration.run(new SseStream(ctx), new StreamedGeneration.Events() {
                private LogprobShapes.Legacy legacy;

                @Override
                public Object start(int choice) {
                    Echo echoed = echoes.get(choice);
                    legacy = topLogprobs >= 0 ? startLogprobs(shapes, echoed) : null;
                    String text = echoed != null ? echoed.text() : "";
                    return chunk(choice, text, legacy != null && !legacy.isEmpty() ? legacy.take() : null, null);
                }

                @Override
                public Object text(int choice, String piece, List<TokenLogprob> tokens) {
                    if (legacy == null) {
                        return chunk(choice, piece, null, null);
                    }
                    tokens.forEach(legacy::add);
                    return chunk(choice, piece, legacy.take(), null);
                }

                @Override
                public Object finish(int choice, GenerationResult r) {
                    return chunk(choice, "", null, FinishReasons.of(r));
                }

                @Override
                public Object usage(List<GenerationResult> results) {
                    return includeUsage ? new TextCompletion(id, "text_completion", created, served.name(), List.of(),
                            Choices.usage(results, n)) : null;
                }

                private TextCompletion chunk(int choice, String text, CompletionLogprobs logprobs, String finish) {
                    return new TextCompletion(id, "text_completion", created, served.name(),
                            List.of(new TextChoice(choice, text, logprobs, finish)), null);
                }
            }, model, prompts, requests);
            return null;
        });
    }

    /**
     * The prompt as echoed before each choice's text.
     *
     * @param logprobs the prompt tokens' log-probabilities after the first, or null when not asked for
     */
    private record Echo(String text, int[] tokens, List<TokenLogprob> logprobs) {
    }

    /** A choice's legacy log-probabilities, starting with the echoed prompt's tokens when there are any. */
    private static LogprobShapes.Legacy startLogprobs(LogprobShapes shapes, Echo echo) {
        LogprobShapes.Legacy legacy = shapes.legacy();
        if (echo != null) {
            legacy.addPrompt(echo.text(), echo.tokens(), echo.logprobs());
        }
        return legacy;
    }

    /** The text a token prompt stands for (control tokens written out), for echo. */
    private static String text(TextModel model, int[] tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int t : tokens) {
            bytes.writeBytes(model.tokenBytes(t));
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static int[] checkedTokens(TextModel model, int[] tokens, String param) {
        for (int t : tokens) {
            if (t < 0 || t >= model.vocabularySize()) {
                throw ApiException.invalidRequest(param, "Invalid token id " + t + " in '" + param + "': the model's"
                        + " vocabulary has ids 0 to " + (model.vocabularySize() - 1) + ".");
            }
        }
        return tokens;
    }

    /** {@code logprobs} (0..5 alternatives), or -1 when absent. */
    private static int topLogprobs(Integer logprobs) {
        if (logprobs == null) {
            return -1;
        }
        if (logprobs < 0 || logprobs > MAX_LOGPROBS) {
            throw ApiException.invalidRequest("logprobs", "Invalid 'logprobs': " + logprobs
                    + ". Expected a value between 0 and " + MAX_LOGPROBS + ".");
        }
        return logprobs;
    }

    private static void rejectUnsupported(CompletionRequest req, List<TextOrTokens> prompts) {
        if (req.suffix() != null && prompts.stream().anyMatch(p -> p.text() == null)) {
            throw ApiException.invalidRequest("suffix", "'suffix' needs the prompt as text, not token ids: the"
                    + " fill-in-the-middle prompt is built from the prefix and suffix texts.");
        }
        if (req.suffix() != null && Boolean.TRUE.equals(req.echo())) {
            throw ApiException.invalidRequest("echo", "'echo' cannot be combined with 'suffix': the echoed prompt"
                    + " would not be followed by the text the suffix asks for.");
        }
        if (req.bestOf() != null && req.bestOf() != 1) {
            throw ApiException.unsupported("best_of", "'best_of' other than 1 is not supported by this server yet.");
        }
    }
}
