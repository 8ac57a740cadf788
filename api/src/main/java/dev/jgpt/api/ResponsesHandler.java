package dev.jgpt.api;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.jgpt.api.OpenAiProtocol.AssistantMessage;
import dev.jgpt.api.OpenAiProtocol.ChatMessage;
import dev.jgpt.api.OpenAiProtocol.ToolCall;
import dev.jgpt.api.ResponsesProtocol.ArgumentsDeltaEvent;
import dev.jgpt.api.ResponsesProtocol.ArgumentsDoneEvent;
import dev.jgpt.api.ResponsesProtocol.ContentPartEvent;
import dev.jgpt.api.ResponsesProtocol.ErrorEvent;
import dev.jgpt.api.ResponsesProtocol.FunctionCallItem;
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
 * optional {@code instructions}, as one response object or as a stream of typed events, with function tools
 * and structured output (the chat endpoint's implementation); stored responses continue a conversation
 * through {@code previous_response_id} and can be read back or deleted by id.
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
        ResponseTextFormat format = ResponseTextFormat.of(req.text());
        ChatTools tools = ResponseTools.parse(req.tools(), req.toolChoice());
        List<ChatMessage> conversation = new ArrayList<>();
        if (req.previousResponseId() != null) {
            ResponseStore.Stored previous = store.get(req.previousResponseId());
            if (previous == null) {
                throw ApiException.previousResponseNotFound(req.previousResponseId());
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
            StructuredOutput structured = new StructuredOutput(model, tools, format.grammar());
            int[] prompt = structured.prompt(messages);
            int maxTokens = ContextBudget.maxTokens(prompt.length, opts.maxTokens(), model.contextSize(), "input");
            GenerationRequest request = structured.constrain(
                    List.of(new GenerationRequest(opts.sampling(), maxTokens, opts.stop()))).getFirst();
            Answer answer = new Answer(draft, conversation, structured, store);
            if (Boolean.TRUE.equals(req.stream())) {
                stream(new ResponseEventStream(ctx), answer, model, prompt, request);
            } else {
                GenerationResult r = model.generate(prompt, request, piece -> { });
                ctx.contentType("application/json").result(Json.write(answer.finish(r)));
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

    /**
     * Streams a response. Free text is streamed as it is generated; an answer read for tool calls is held
     * back and sent item by item once complete (its text may turn out to be a call).
     */
    private static void stream(ResponseEventStream events, Answer answer, TextModel model, int[] prompt,
                               GenerationRequest request) {
        Draft draft = answer.draft();
        String itemId = draft.itemId();
        try {
            Response started = draft.response("in_progress", List.of(), null, null);
            events.send("response.created", new ResponseEvent(started));
            events.send("response.in_progress", new ResponseEvent(started));
            Response done;
            if (answer.structured().readsToolCalls()) {
                done = answer.finish(model.generate(prompt, request, piece -> { }));
                for (int i = 0; i < done.output().size(); i++) {
                    sendWhole(events, i, done.output().get(i));
                }
            } else {
                events.send("response.output_item.added", new OutputItemEvent(0,
                        new OutputMessage("message", itemId, "in_progress", "assistant", List.of())));
                events.send("response.content_part.added", new ContentPartEvent(itemId, 0, 0, OutputText.of("")));
                GenerationResult r = model.generate(prompt, request, piece ->
                        events.send("response.output_text.delta", new TextDeltaEvent(itemId, 0, 0, piece, List.of())));
                events.send("response.output_text.done", new TextDoneEvent(itemId, 0, 0, r.text(), List.of()));
                events.send("response.content_part.done", new ContentPartEvent(itemId, 0, 0, OutputText.of(r.text())));
                done = answer.finish(r);
                events.send("response.output_item.done", new OutputItemEvent(0, done.output().getFirst()));
            }
            events.send(done.status().equals("completed") ? "response.completed" : "response.incomplete",
                    new ResponseEvent(done));
        } catch (ClientGoneException e) {
            log.debug("client disconnected mid-stream; generation stopped");
        } catch (RuntimeException e) {
            // Headers are sent: the failure travels as an error event.
            ApiException api = ApiErrors.toApiException(e);
            try {
                events.send("error", new ErrorEvent(api.code(), api.getMessage(), api.param()));
            } catch (ClientGoneException gone) {
                log.debug("client disconnected before the error event could be sent");
            }
        }
    }

    /** The events of one finished output item, from {@code output_item.added} to {@code output_item.done}. */
    private static void sendWhole(ResponseEventStream events, int index, Object item) {
        switch (item) {
            case OutputMessage m -> {
                String text = m.content().getFirst().text();
                events.send("response.output_item.added", new OutputItemEvent(index,
                        new OutputMessage("message", m.id(), "in_progress", "assistant", List.of())));
                events.send("response.content_part.added", new ContentPartEvent(m.id(), index, 0, OutputText.of("")));
                if (!text.isEmpty()) {
                    events.send("response.output_text.delta", new TextDeltaEvent(m.id(), index, 0, text, List.of()));
                }
                events.send("response.output_text.done", new TextDoneEvent(m.id(), index, 0, text, List.of()));
                events.send("response.content_part.done", new ContentPartEvent(m.id(), index, 0, OutputText.of(text)));
            }
            case FunctionCallItem f -> {
                events.send("response.output_item.added", new OutputItemEvent(index, new FunctionCallItem(
                        "function_call", f.id(), f.callId(), f.name(), "", "in_progress")));
                events.send("response.function_call_arguments.delta",
                        new ArgumentsDeltaEvent(f.id(), index, f.arguments()));
                events.send("response.function_call_arguments.done",
                        new ArgumentsDoneEvent(f.id(), index, f.name(), f.arguments()));
            }
            default -> throw new IllegalStateException("unknown output item " + item);
        }
        events.send("response.output_item.done", new OutputItemEvent(index, item));
    }

    /** One request's answer in the making: how the generation becomes the response, and where it is kept. */
    private record Answer(Draft draft, List<ChatMessage> conversation, StructuredOutput structured,
                          ResponseStore store) {
        /**
         * The finished response: a message (unless the answer is only tool calls) and one function_call item
         * per call; stored with its conversation unless the request said {@code store: false}.
         */
        Response finish(GenerationResult r) {
            AssistantMessage message = structured.message(r);
            List<ToolCall> calls = message.toolCalls() == null ? List.of() : message.toolCalls();
            boolean complete = r.finishReason() == FinishReason.STOP || !calls.isEmpty();
            String status = complete ? "completed" : "incomplete";
            String text = message.content() == null ? "" : message.content();
            List<Object> output = new ArrayList<>();
            if (calls.isEmpty() || !text.isBlank()) {
                output.add(new OutputMessage("message", draft.itemId(), status, "assistant",
                        List.of(OutputText.of(text))));
            }
            for (ToolCall call : calls) {
                output.add(new FunctionCallItem("function_call", RequestIds.next("fc_"), call.id(),
                        call.function().name(), call.function().arguments(), "completed"));
            }
            Response response = draft.response(status, output,
                    ResponseUsage.of(r.promptTokens(), r.cachedTokens(), r.completionTokens()),
                    complete ? null : new IncompleteDetails("max_output_tokens"));
            if (draft.store()) {
                List<ChatMessage> next = new ArrayList<>(conversation);
                next.add(new ChatMessage("assistant", TextNode.valueOf(text), null, null,
                        calls.isEmpty() ? null : Json.MAPPER.valueToTree(calls)));
                store.put(new ResponseStore.Stored(response, List.copyOf(next)));
            }
            return response;
        }
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("No response found with id '" + id + "'.");
    }

    /** What every response object of one request shares. */
    private record Draft(String id, String itemId, long createdAt, String model, ResponseRequest req,
                         GenerationOptions options, ResponseTextFormat format, boolean store) {
        Response response(String status, List<Object> output, ResponseUsage usage, IncompleteDetails incomplete) {
            double temperature = req.temperature() != null ? req.temperature() : options.sampling().temperature();
            double topP = req.topP() != null ? req.topP() : options.sampling().topP();
            boolean hasTools = req.tools() != null && !req.tools().isNull();
            return new Response(id, "response", createdAt, status, null, incomplete, req.instructions(),
                    req.maxOutputTokens(), model, output, !Boolean.FALSE.equals(req.parallelToolCalls()),
                    req.previousResponseId(), store, temperature, new TextConfig(format.echo()),
                    req.toolChoice() != null && !req.toolChoice().isNull() ? req.toolChoice() : "auto",
                    hasTools ? req.tools() : List.of(), topP, "disabled", usage, req.user(),
                    req.metadata() == null ? Map.of() : req.metadata());
        }
    }
}
