package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.AssistantMessage;
import dev.jgpt.api.OpenAiProtocol.Delta;
import dev.jgpt.api.OpenAiProtocol.ToolCall;
import dev.jgpt.api.OpenAiProtocol.ToolCallDelta;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tools and response formats of one chat request on one model: the prompt (tools rendered by the template,
 * or described in the system message when the template knows none), a fresh constraint per generation (a
 * forced tool call, else the response format), and the answer read back as tool calls.
 */
final class StructuredOutput {
    private final TextModel model;
    private final ChatTools tools;
    private final JsonGrammar grammar;
    private final ToolCallSyntax syntax;
    private final boolean templateRendersTools;

    StructuredOutput(TextModel model, ChatTools tools, JsonGrammar responseFormat) {
        this.model = model;
        this.tools = tools;
        String template = model.chatTemplateSource();
        this.syntax = ToolCallSyntax.forTemplate(template);
        this.templateRendersTools = template.contains("tools");
        this.grammar = tools.active() && tools.forcesCall() ? tools.callGrammar(syntax) : responseFormat;
    }

    int[] prompt(List<Map<String, Object>> messages) {
        if (!tools.active()) {
            return model.chatPrompt(messages);
        }
        if (templateRendersTools) {
            return model.chatPrompt(messages, tools.templateTools());
        }
        return model.chatPrompt(ToolCallHistory.inlineTools(messages, tools, syntax));
    }

    /** The requests, each with its own constraint when the output is constrained. */
    List<GenerationRequest> constrain(List<GenerationRequest> requests) {
        if (grammar == null) {
            return requests;
        }
        List<GenerationRequest> out = new ArrayList<>(requests.size());
        for (GenerationRequest r : requests) {
            out.add(new GenerationRequest(r.sampling(), r.maxTokens(), r.stop(),
                    model.jsonConstraint(grammar, r.maxTokens()), r.topLogprobs(), r.onLogprob()));
        }
        return out;
    }

    /** Whether answers are read for tool calls (then a stream sends the answer once it is complete). */
    boolean readsToolCalls() {
        return tools.active();
    }

    /** The answer as a message: its tool calls, if it makes any, and the text outside them. */
    AssistantMessage message(GenerationResult r) {
        if (!readsToolCalls()) {
            return new AssistantMessage("assistant", r.text(), null);
        }
        ToolCallSyntax.Parsed parsed = syntax.parse(r.text(), tools.names());
        return new AssistantMessage("assistant", parsed.content(), null, parsed.calls().isEmpty() ? null : parsed.calls());
    }

    /** The whole answer as one stream delta (after text deltas that were held back). */
    Delta delta(GenerationResult r) {
        AssistantMessage m = message(r);
        if (m.toolCalls() == null) {
            return new Delta(null, m.content());
        }
        List<ToolCallDelta> calls = new ArrayList<>();
        for (int i = 0; i < m.toolCalls().size(); i++) {
            ToolCall c = m.toolCalls().get(i);
            calls.add(new ToolCallDelta(i, c.id(), c.type(), c.function()));
        }
        return new Delta(null, m.content(), calls);
    }

    static String finishReason(AssistantMessage message, GenerationResult r) {
        return message.toolCalls() != null ? "tool_calls" : FinishReasons.of(r);
    }
}
