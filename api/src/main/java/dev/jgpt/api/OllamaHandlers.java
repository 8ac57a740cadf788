package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.jgpt.api.OllamaProtocol.ChatLine;
import dev.jgpt.api.OllamaProtocol.ChatRequest;
import dev.jgpt.api.OllamaProtocol.Details;
import dev.jgpt.api.OllamaProtocol.GenerateLine;
import dev.jgpt.api.OllamaProtocol.GenerateRequest;
import dev.jgpt.api.OllamaProtocol.Message;
import dev.jgpt.api.OllamaProtocol.ModelEntry;
import dev.jgpt.api.OllamaProtocol.ModelList;
import dev.jgpt.api.OllamaProtocol.ShowRequest;
import dev.jgpt.api.OllamaProtocol.ShowResponse;
import dev.jgpt.api.OllamaProtocol.Version;
import dev.jgpt.api.OpenAiProtocol.AssistantMessage;
import dev.jgpt.api.OpenAiProtocol.ChatMessage;
import dev.jgpt.api.OpenAiProtocol.ToolCall;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.constrain.JsonLimits;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The Ollama API over the same models: {@code /api/chat} and {@code /api/generate} (streamed as NDJSON by
 * default, the last line {@code done: true} with token counts and durations in nanoseconds), {@code /api/tags},
 * {@code /api/show} and {@code /api/version}. Models are named as in {@code /v1/models}; Ollama's {@code :latest}
 * tag is accepted; {@code format} ("json" or a JSON schema) constrains the answer and {@code tools} work as on
 * the chat endpoint. Errors are {@code {"error": "..."}} as Ollama sends them.
 */
final class OllamaHandlers {
    /** The Ollama version reported to clients that check it; jgpt implements the API of this release. */
    static final String OLLAMA_VERSION = "0.12.0";
    private static final String TAG = ":latest";
    private static final Logger log = LoggerFactory.getLogger(OllamaHandlers.class);

    private final ModelCatalog catalog;
    private final Clock clock;

    OllamaHandlers(ModelCatalog catalog, Clock clock) {
        this.catalog = catalog;
        this.clock = clock;
    }

    /** {@code handler} with failures answered in Ollama's error shape instead of OpenAI's. */
    static Handler withOllamaErrors(Handler handler) {
        return ctx -> {
            try {
                handler.handle(ctx);
            } catch (Exception e) {
                ApiException api = ApiErrors.toApiException(e);
                String message = "model_not_found".equals(api.code())
                        ? "model '" + ctx.attribute("ollama.model") + "' not found" : api.getMessage();
                if (api.retryAfterSeconds() != null) {
                    ctx.header("Retry-After", Integer.toString(api.retryAfterSeconds()));
                }
                ctx.status(api.status()).contentType("application/json")
                        .result(Json.write(new OllamaProtocol.Error(message)));
            }
        };
    }

    /** {@code GET /api/version}. */
    void version(Context ctx) {
        ctx.contentType("application/json").result(Json.write(new Version(OLLAMA_VERSION)));
    }

    /** {@code GET /api/tags}: every model of the catalog. */
    void tags(Context ctx) {
        List<ModelEntry> models = new ArrayList<>();
        for (ModelCatalog.Entry e : catalog.entries()) {
            ModelFacts facts = ModelFacts.of(e.file());
            models.add(new ModelEntry(e.name() + TAG, e.name() + TAG, facts.modified().toString(), facts.size(),
                    facts.digest(), details(facts)));
        }
        ctx.contentType("application/json").result(Json.write(new ModelList(models)));
    }

    /** {@code POST /api/show}: a model's details, chat template and metadata. */
    void show(Context ctx) throws IOException {
        ShowRequest req = Json.read(ctx.bodyAsBytes(), ShowRequest.class);
        String name = modelName(ctx, req.model() != null ? req.model() : req.name());
        ModelFacts facts = ModelFacts.of(catalog.find(name).file());
        ctx.contentType("application/json").result(Json.write(new ShowResponse("", "", facts.chatTemplate(),
                details(facts), facts.metadata(), List.of("completion"), facts.modified().toString())));
    }

    /** {@code POST /api/chat}, with function tools as the chat endpoint runs them. */
    void chat(Context ctx) throws IOException {
        ChatRequest req = Json.read(ctx.bodyAsBytes(), ChatRequest.class);
        String name = modelName(ctx, req.model());
        ChatTools tools = ChatTools.parse(req.tools(), null);
        JsonGrammar grammar = grammar(req.format());
        ServedModel served = catalog.find(name);
        String shownName = req.model();
        if (req.messages() == null || req.messages().isEmpty()) {
            loadOnly(ctx, served, () -> new ChatLine(shownName, now(), Message.assistant("", null), true,
                    "load", null, null, null, null, null, null));
            return;
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < req.messages().size(); i++) {
            Message m = req.messages().get(i);
            if (m != null && hasItems(m.images())) {
                throw ApiException.unsupported("messages[" + i + "].images", "images are not supported by this server.");
            }
            messages.add(m == null ? null : new ChatMessage(m.role(), m.content() == null ? null
                    : TextNode.valueOf(m.content()), m.toolName(), null, m.toolCalls()));
        }
        List<Map<String, Object>> templateMessages = ChatMessages.toTemplateMessages(messages);
        run(ctx, served, req.options(), req.stream(), tools, grammar,
                (model, structured) -> structured.prompt(templateMessages), "messages", new Lines() {
                    @Override
                    public Object piece(String text, JsonNode toolCalls) {
                        return new ChatLine(shownName, now(), Message.assistant(text, toolCalls), false,
                                null, null, null, null, null, null, null);
                    }

                    @Override
                    public Object last(String text, JsonNode toolCalls, Stats s) {
                        return new ChatLine(shownName, now(), Message.assistant(text, toolCalls), true,
                                s.doneReason, s.total, s.load, s.promptCount, s.promptDuration, s.evalCount, s.evalDuration);
                    }
                });
    }

    /** {@code POST /api/generate}: the prompt as a user turn of the chat template, or as is with {@code raw}. */
    void generate(Context ctx) throws IOException {
        GenerateRequest req = Json.read(ctx.bodyAsBytes(), GenerateRequest.class);
        String name = modelName(ctx, req.model());
        JsonGrammar grammar = grammar(req.format());
        if (hasItems(req.images())) {
            throw ApiException.unsupported("images", "images are not supported by this server.");
        }
        if (req.suffix() != null && !req.suffix().isEmpty()) {
            throw ApiException.unsupported("suffix", "'suffix' (fill-in-the-middle) is not supported by this server.");
        }
        ServedModel served = catalog.find(name);
        String shownName = req.model();
        if (req.prompt() == null || req.prompt().isEmpty()) {
            loadOnly(ctx, served, () -> new GenerateLine(shownName, now(), "", true, "load", null, null, null, null,
                    null, null));
            return;
        }
        BiFunction<TextModel, StructuredOutput, int[]> prompt;
        if (Boolean.TRUE.equals(req.raw())) {
            prompt = (model, structured) -> model.textPrompt(req.prompt());
        } else {
            List<ChatMessage> messages = new ArrayList<>();
            if (req.system() != null && !req.system().isEmpty()) {
                messages.add(new ChatMessage("system", TextNode.valueOf(req.system()), null, null, null));
            }
            messages.add(new ChatMessage("user", TextNode.valueOf(req.prompt()), null, null, null));
            List<Map<String, Object>> templateMessages = ChatMessages.toTemplateMessages(messages);
            prompt = (model, structured) -> model.chatPrompt(templateMessages);
        }
        run(ctx, served, req.options(), req.stream(), ChatTools.NO_TOOLS, grammar, prompt, "prompt", new Lines() {
            @Override
            public Object piece(String text, JsonNode toolCalls) {
                return new GenerateLine(shownName, now(), text, false, null, null, null, null, null, null, null);
            }

            @Override
            public Object last(String text, JsonNode toolCalls, Stats s) {
                return new GenerateLine(shownName, now(), text, true, s.doneReason, s.total, s.load, s.promptCount,
                        s.promptDuration, s.evalCount, s.evalDuration);
            }
        });
    }

    /** The lines of one endpoint: a piece of a stream, and the last line (or the whole answer). */
    private interface Lines {
        Object piece(String text, JsonNode toolCalls);

        Object last(String text, JsonNode toolCalls, Stats stats);
    }

    /** Ollama's closing statistics; durations in nanoseconds. */
    private record Stats(String doneReason, long total, long load, int promptCount, long promptDuration,
                         int evalCount, long evalDuration) {
    }

    /**
     * Runs one generation into NDJSON lines or one JSON answer. An answer read for tool calls is not streamed
     * piece by piece: its text may turn out to be a call, so it is sent whole, calls included, once complete.
     */
    private void run(Context ctx, ServedModel served, OllamaProtocol.Options options, Boolean stream, ChatTools tools,
                     JsonGrammar grammar, BiFunction<TextModel, StructuredOutput, int[]> promptOf, String promptParam,
                     Lines lines) {
        GenerationOptions opts = OllamaOptions.toGeneration(options);
        long arrived = System.nanoTime();
        served.run(model -> {
            long started = System.nanoTime();
            StructuredOutput structured = new StructuredOutput(model, tools, grammar);
            int[] prompt = promptOf.apply(model, structured);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), promptParam);
            GenerationRequest request = structured.constrain(
                    List.of(new GenerationRequest(opts.sampling(), maxTokens, opts.stop()))).getFirst();
            boolean holdBack = structured.readsToolCalls();
            long[] firstPiece = {0};
            if (!Boolean.FALSE.equals(stream)) {
                NdjsonStream out = new NdjsonStream(ctx);
                try {
                    GenerationResult r = model.generate(prompt, request, piece -> {
                        if (firstPiece[0] == 0) {
                            firstPiece[0] = System.nanoTime();
                        }
                        if (!holdBack) {
                            out.send(lines.piece(piece, null));
                        }
                    });
                    AssistantMessage m = structured.message(r);
                    if (holdBack) {
                        out.send(lines.piece(m.content() == null ? "" : m.content(), toolCalls(m)));
                    }
                    out.send(lines.last("", null, stats(m, r, arrived, started, firstPiece[0])));
                } catch (ClientGoneException e) {
                    log.debug("client disconnected mid-stream; generation stopped");
                } catch (RuntimeException e) {
                    // The status is sent: the failure travels as a line, as Ollama does.
                    try {
                        out.send(new OllamaProtocol.Error(ApiErrors.toApiException(e).getMessage()));
                    } catch (ClientGoneException gone) {
                        log.debug("client disconnected before the error line could be sent");
                    }
                }
            } else {
                GenerationResult r = model.generate(prompt, request, piece -> {
                    if (firstPiece[0] == 0) {
                        firstPiece[0] = System.nanoTime();
                    }
                });
                AssistantMessage m = structured.message(r);
                ctx.contentType("application/json").result(Json.write(lines.last(m.content() == null ? ""
                        : m.content(), toolCalls(m), stats(m, r, arrived, started, firstPiece[0]))));
            }
            return null;
        });
    }

    /** The message's calls in Ollama's shape (arguments as an object), or null when it makes none. */
    private static JsonNode toolCalls(AssistantMessage m) {
        if (m.toolCalls() == null || m.toolCalls().isEmpty()) {
            return null;
        }
        ArrayNode calls = Json.MAPPER.createArrayNode();
        for (ToolCall call : m.toolCalls()) {
            ObjectNode function = calls.addObject().putObject("function").put("name", call.function().name());
            try {
                function.set("arguments", Json.MAPPER.readTree(call.function().arguments()));
            } catch (IOException e) {
                function.put("arguments", call.function().arguments()); // not JSON: passed on as the model wrote it
            }
        }
        return calls;
    }

    /** Closing statistics; an answer that calls tools is done with reason "stop", as in Ollama. */
    private static Stats stats(AssistantMessage m, GenerationResult r, long arrived, long started, long firstPiece) {
        long end = System.nanoTime();
        long first = firstPiece == 0 ? end : firstPiece;
        String reason = m.toolCalls() != null ? "stop" : FinishReasons.of(r);
        return new Stats(reason, end - arrived, started - arrived, r.promptTokens(), first - started,
                r.completionTokens(), end - first);
    }

    /** Ollama answers a request without input by loading the model and saying so. */
    private static void loadOnly(Context ctx, ServedModel served, Supplier<Object> line) {
        served.run(model -> model.contextSize());
        ctx.contentType("application/json").result(Json.write(line.get()));
    }

    private String now() {
        return clock.instant().toString();
    }

    private static String modelName(Context ctx, String model) {
        if (model == null || model.isEmpty()) {
            throw ApiException.invalidRequest("model", "model is required");
        }
        ctx.attribute("ollama.model", model);
        return model.endsWith(TAG) ? model.substring(0, model.length() - TAG.length()) : model;
    }

    private static Details details(ModelFacts facts) {
        return new Details("", "gguf", facts.architecture(), List.of(facts.architecture()), facts.parameterSize(),
                facts.quantization());
    }

    /** Ollama's {@code format}: "json" (any JSON object) or a JSON schema; null when the output is free text. */
    private static JsonGrammar grammar(JsonNode format) {
        if (format == null || format.isNull() || (format.isTextual() && format.textValue().isEmpty())) {
            return null;
        }
        if (format.isTextual() && format.textValue().equals("json")) {
            return JsonGrammar.anyObject(JsonLimits.defaults());
        }
        if (format.isObject()) {
            return ResponseFormats.compile(format, false, "format");
        }
        throw ApiException.invalidRequest("format", "Invalid 'format': expected \"json\" or a JSON schema object, got "
                + JsonTypes.describe(format) + ".");
    }

    private static boolean hasItems(JsonNode node) {
        return node != null && !node.isNull() && !node.isEmpty();
    }
}
