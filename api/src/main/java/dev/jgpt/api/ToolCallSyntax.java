package dev.jgpt.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.api.OpenAiProtocol.FunctionCall;
import dev.jgpt.api.OpenAiProtocol.ToolCall;
import dev.jgpt.engine.constrain.JsonGrammar;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How a model family writes tool calls in its answer, and how to read them back: Hermes style (Qwen and
 * others, and jgpt's choice for templates that know no tools), {@code <tool_call>\n{"name": ..., "arguments":
 * {...}}\n</tool_call>}; Llama 3's bare {@code {"name": ..., "parameters": {...}}}; or Mistral's
 * {@code [TOOL_CALLS][{"name": ..., "arguments": {...}}]}.
 */
enum ToolCallSyntax {
    HERMES("arguments", "<tool_call>\n", "\n</tool_call>"),
    LLAMA3("parameters", "", ""),
    MISTRAL("arguments", "[TOOL_CALLS][", "]");

    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";
    private static final String PYTHON_TAG = "<|python_tag|>";
    private static final String MISTRAL_TAG = "[TOOL_CALLS]";
    /** Reads one JSON value and leaves the text after it alone (the API's mapper rejects trailing text). */
    private static final ObjectMapper ONE_VALUE = new ObjectMapper();

    private final String argumentsKey;
    private final String before;
    private final String after;

    ToolCallSyntax(String argumentsKey, String before, String after) {
        this.argumentsKey = argumentsKey;
        this.before = before;
        this.after = after;
    }

    /** The syntax a chat template teaches its model. */
    static ToolCallSyntax forTemplate(String templateSource) {
        if (templateSource.contains(MISTRAL_TAG)) {
            return MISTRAL;
        }
        if (templateSource.contains(OPEN)) {
            return HERMES;
        }
        if (templateSource.contains("\"parameters\"") || templateSource.contains("ipython")) {
            return LLAMA3;
        }
        return HERMES;
    }

    /** The key that holds a call's arguments. */
    String argumentsKey() {
        return argumentsKey;
    }

    JsonGrammar wrap(JsonGrammar call) {
        return call.between(before, after);
    }

    /** One call as this syntax writes it (for conversation history shown to templates without tools). */
    String write(String name, String argumentsJson) {
        return before + "{\"name\": " + Json.MAPPER.getNodeFactory().textNode(name) + ", \"" + argumentsKey + "\": "
                + argumentsJson + "}" + after;
    }

    /** The answer's text outside the calls (null when none) and the calls of known functions it makes. */
    record Parsed(String content, List<ToolCall> calls) {
    }

    Parsed parse(String text, Set<String> names) {
        return switch (this) {
            case HERMES -> parseTagged(text, names);
            case LLAMA3 -> parseBare(text, names);
            case MISTRAL -> parseList(text, names);
        };
    }

    private Parsed parseTagged(String text, Set<String> names) {
        List<ToolCall> calls = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        int i = 0;
        int at;
        while ((at = text.indexOf(OPEN, i)) >= 0) {
            int start = at + OPEN.length();
            JsonNode json;
            int end;
            try (JsonParser p = ONE_VALUE.createParser(text.substring(start))) {
                json = ONE_VALUE.readTree(p);
                end = start + (int) p.currentLocation().getCharOffset();
            } catch (IOException e) {
                break; // not a call after all: the rest stays text
            }
            ToolCall call = toCall(json, names);
            if (call == null) {
                break;
            }
            content.append(text, i, at);
            calls.add(call);
            while (end < text.length() && Character.isWhitespace(text.charAt(end))) {
                end++;
            }
            if (text.startsWith(CLOSE, end)) {
                end += CLOSE.length();
            }
            i = end;
        }
        content.append(text.substring(i));
        return parsed(content.toString(), calls);
    }

    private Parsed parseBare(String text, Set<String> names) {
        String body = text.strip();
        if (body.startsWith(PYTHON_TAG)) {
            body = body.substring(PYTHON_TAG.length()).strip();
        }
        try {
            ToolCall call = toCall(Json.MAPPER.readTree(body), names);
            if (call != null) {
                return new Parsed(null, List.of(call));
            }
        } catch (IOException e) {
            // not JSON: a plain answer
        }
        return new Parsed(text, List.of());
    }

    private Parsed parseList(String text, Set<String> names) {
        String body = text.strip();
        if (body.startsWith(MISTRAL_TAG)) {
            try {
                JsonNode list = Json.MAPPER.readTree(body.substring(MISTRAL_TAG.length()));
                List<ToolCall> calls = new ArrayList<>();
                for (JsonNode element : list.isArray() ? list : Json.MAPPER.createArrayNode().add(list)) {
                    ToolCall call = toCall(element, names);
                    if (call == null) {
                        return new Parsed(text, List.of());
                    }
                    calls.add(call);
                }
                return parsed("", calls);
            } catch (IOException e) {
                // not a call list: a plain answer
            }
        }
        return new Parsed(text, List.of());
    }

    private static Parsed parsed(String content, List<ToolCall> calls) {
        if (calls.isEmpty()) {
            return new Parsed(content, calls);
        }
        return new Parsed(content.isBlank() ? null : content.strip(), calls);
    }

    private ToolCall toCall(JsonNode json, Set<String> names) {
        if (json == null || !json.isObject() || !json.path("name").isTextual()
                || !names.contains(json.get("name").textValue())) {
            return null;
        }
        JsonNode args = json.has(argumentsKey) ? json.get(argumentsKey)
                : json.has("arguments") ? json.get("arguments") : json.get("parameters");
        String arguments = args == null || args.isNull() ? "{}" : args.isTextual() ? args.textValue() : args.toString();
        return new ToolCall(RequestIds.next("call_"), "function", new FunctionCall(json.get("name").textValue(),
                arguments));
    }
}
