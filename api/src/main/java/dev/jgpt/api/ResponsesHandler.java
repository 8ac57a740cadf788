package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.ChatMessage;
import dev.jgpt.api.ResponsesProtocol.ContentPartEvent;
import dev.jgpt.api.ResponsesProtocol.ErrorEvent;
import dev.jgpt.api.ResponsesProtocol.IncompleteDetails;
import dev.jgpt.api.ResponsesProtocol.OutputItemEvent;
import dev.jgpt.api.ResponsesProtocol.OutputMessage;
import dev.jgpt.api.ResponsesProtocol.OutputText;
import dev.jgpt.api.ResponsesProtocol.Response;
import dev.jgpt.api.ResponsesProtocol.ResponseEvent;
import dev.jgpt.api.ResponsesProtocol.ResponseRequest;
import dev.jgpt.api.ResponsesProtocol.ResponseUsage;
import dev.jgpt.api.ResponsesProtocol.TextConfig;
import dev.jgpt.api.ResponsesProtocol.TextDeltaEvent;
import dev.jgpt.api.ResponsesProtocol.TextDoneEvent;
import dev.jgpt.engine.generate.FinishReason;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's Responses API: {@code POST /v1/responses} answers an input (a string or message items) under
 * optional {@code instructions}, as one response object or as a stream of typed events; stored responses
 * continue a conversation through {@code previous_response_id} and can be read back or deleted by id.
 */
final class ResponsesHandler {
    private static final Logger log = LoggerFactory.getLogger(ResponsesHandler.class);

    private final ModelCatalog catalog;
    private final Clock clock;
    private final ResponseStore store;

    ResponsesHandler(ModelCatalog catalog, Clock clock, ResponseStore store) {
        this.catalog = catalog;
        this.clock = clock;
        this.store = store;
    }

    /** {@code POST /v1/responses}. */
    void create(Context ctx) throws IOException {
        ResponseRequest req = Json.read(ctx.bodyAsBytes(), ResponseRequest.class);
        if (req.model() == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        rejectUnsupported(req);
        ResponseTextFormat format = ResponseTextFormat.of(req.text());
        List<ChatMessage> conversation = new ArrayList<>();
        if (req.previousResponseId() != null) {
            ResponseStore.Stored previous = store.get(req.previousResponseId());
            if (previous == null) {
                throw ApiException.invalidRequest("previous_response_id", "Previous response with id '"
                        + req.previousResponseId() + "' not found.");
            }
            conversation.addAll(previous.conversation());
        }
        conversation.addAll(ResponseInput.messages(req.input()));
        List<ChatMessage> prompted = new ArrayList<>();
        if (req.instructions() != null) {
            prompted.add(ResponseInput.message("system", req.instructions()));
        }
        prompted.addAll(conversation);
        List<Map<String, Object>> messages = ChatMessages.toTemplateMessages(prompted);
        GenerationOptions options = GenerationOptions.from(req, req.maxOutputTokens(), "max_output_tokens",
                RequestIds.seed());
        ServedModel served = catalog.find(req.model());
        Draft draft = new Draft(RequestIds.next("resp_"), RequestIds.next("msg_"),
                clock.instant().getEpochSecond(), served.name(), req, options, format,
                !Boolean.FALSE.equals(req.store()));

        served.run(model -> {
            GenerationOptions opts = options.withLogitBias(req.logitBias(), t -> t >= 0 && t < model.vocabularySize());
            int[] prompt = model.chatPrompt(messages);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), "input");
            GenerationRequest request = new GenerationRequest(opts.sampling(), maxTokens, opts.stop(),
                    format.grammar() == null ? null : model.jsonConstraint(format.grammar(), maxTokens), -1);
            if (Boolean.TRUE.equals(req.stream())) {
                stream(new ResponseEventStream(ctx), draft, conversation, model, prompt, request);
            } else {
                GenerationResult r = model.generate(prompt, request, piece -> { });
                ctx.contentType("application/json").result(Json.write(finish(draft, conversation, r)));
            }
            return null;
        });
    }

    /** {@code GET /v1/responses/{id}}. */
    void retrieve(Context ctx) {
        ResponseStore.Stored stored = store.get(ctx.pathParam("id"));
        if (stored == null) {
            throw notFound(ctx.pathParam("id"));
        }
        ctx.contentType("application/json").result(Json.write(stored.response()));
    }

    /** {@code DELETE /v1/responses/{id}}. */
    void delete(Context ctx) {
        String id = ctx.pathParam("id");
        if (!store.remove(id)) {
            throw notFound(id);
        }
        ctx.contentType("application/json").result(Json.write(Map.of("id", id, "object", "response", "deleted", true)));
    }

    private void stream(ResponseEventStream events, Draft draft, List<ChatMessage> conversation, TextModel model,
                        int[] prompt, GenerationRequest request) {
        String itemId = draft.itemId();
        try {
            Response started = draft.response("in_progress", List.of(), null, null);
            events.send("response.created", new ResponseEvent(started));
            events.send("response.in_progress", new ResponseEvent(started));
            events.send("response.output_item.added", new OutputItemEvent(0,
                    new OutputMessage("message", itemId, "in_progress", "assistant", List.of())));
            events.send("response.content_part.added", new ContentPartEvent(itemId, 0, 0, OutputText.of("")));
            GenerationResult r = model.generate(prompt, request, piece ->
                    events.send("response.output_text.delta", new TextDeltaEvent(itemId, 0, 0, piece, List.of())));
            events.send("response.output_text.done", new TextDoneEvent(itemId, 0, 0, r.text(), List.of()));
            events.send("response.content_part.done", new ContentPartEvent(itemId, 0, 0, OutputText.of(r.text())));
            Response done = finish(draft, conversation, r);
            events.send("response.output_item.done", new OutputItemEvent(0, done.output().getFirst()));
            events.send(done.status().equals("completed") ? "response.completed" : "response.incomplete",
                    new ResponseEvent(done));
        } catch (SseStream.ClientGoneException e) {
            log.debug("client disconnected mid-stream; generation stopped");
        } catch (RuntimeException e) {
            // Headers are sent: the failure travels as an error event.
            ApiException api = ApiErrors.toApiException(e);
            try {
                events.send("error", new ErrorEvent(api.code(), api.getMessage(), api.param()));
            } catch (SseStream.ClientGoneException gone) {
                log.debug("client disconnected before the error event could be sent");
            }
        }
    }

    /** The finished response, stored (with its conversation) unless the request said {@code store: false}. */
    private Response finish(Draft draft, List<ChatMessage> conversation, GenerationResult r) {
        boolean complete = r.finishReason() == FinishReason.STOP;
        String status = complete ? "completed" : "incomplete";
        OutputMessage message = new OutputMessage("message", draft.itemId(), status, "assistant",
                List.of(OutputText.of(r.text())));
        Response response = draft.response(status, List.of(message),
                ResponseUsage.of(r.promptTokens(), r.cachedTokens(), r.completionTokens()),
                complete ? null : new IncompleteDetails("max_output_tokens"));
        if (draft.store()) {
            List<ChatMessage> next = new ArrayList<>(conversation);
            next.add(ResponseInput.message("assistant", r.text()));
            store.put(new ResponseStore.Stored(response, List.copyOf(next)));
        }
        return response;
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("No response found with id '" + id + "'.");
    }

    private static void rejectUnsupported(ResponseRequest req) {
        if (req.tools() != null && !req.tools().isNull() && !req.tools().isEmpty()) {
            throw ApiException.unsupported("tools", "'tools' are not supported by /v1/responses yet.");
        }
    }

    /** What every response object of one request shares. */
    private record Draft(String id, String itemId, long createdAt, String model, ResponseRequest req,
                         GenerationOptions options, ResponseTextFormat format, boolean store) {
        Response response(String status, List<OutputMessage> output, ResponseUsage usage, IncompleteDetails incomplete) {
            double temperature = req.temperature() != null ? req.temperature() : options.sampling().temperature();
            double topP = req.topP() != null ? req.topP() : options.sampling().topP();
            return new Response(id, "response", createdAt, status, null, incomplete, req.instructions(),
                    req.maxOutputTokens(), model, output, false, req.previousResponseId(), store, temperature,
                    new TextConfig(format.echo()), "auto", List.of(), topP, "disabled", usage, req.user(),
                    req.metadata() == null ? Map.of() : req.metadata());
        }
    }
}
