package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tool calls in the conversation: an assistant message's {@code tool_calls} as chat templates expect them
 * (arguments as a mapping, as Hugging Face passes them), and, for templates that know no tools, the tools and
 * calls written into the messages themselves in Hermes style.
 */
final class ToolCallHistory {
    private ToolCallHistory() {
    }

    /** An assistant message's {@code tool_calls} for the template; 400 naming the field at fault. */
    static List<Map<String, Object>> toTemplate(JsonNode toolCalls, String at) {
        if (!toolCalls.isArray()) {
            throw ApiException.invalidRequest(at, "Invalid type for '" + at + "': expected an array of tool calls.");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < toolCalls.size(); i++) {
            String callAt = at + "[" + i + "]";
            JsonNode call = toolCalls.get(i);
            JsonNode function = call.path("function");
            if (!function.path("name").isTextual()) {
                throw ApiException.invalidRequest(callAt + ".function.name", "Missing required parameter: '" + callAt
                        + ".function.name'.");
            }
            JsonNode arguments = function.path("arguments");
            Object args = arguments.isTextual() ? parseArguments(arguments.textValue(), callAt)
                    : Json.MAPPER.convertValue(arguments.isMissingNode() ? Json.MAPPER.createObjectNode() : arguments,
                    Object.class);
            Map<String, Object> fn = new HashMap<>();
            fn.put("name", function.get("name").textValue());
            fn.put("arguments", args);
            Map<String, Object> m = new HashMap<>();
            m.put("id", call.path("id").asText(""));
            m.put("type", "function");
            m.put("function", fn);
            out.add(m);
        }
        return out;
    }

    private static Object parseArguments(String json, String at) {
        try {
            return Json.MAPPER.readValue(json, Object.class);
        } catch (IOException e) {
            throw ApiException.invalidRequest(at + ".function.arguments", "Invalid '" + at + ".function.arguments':"
                    + " expected a JSON text.");
        }
    }

    /**
     * The conversation for a template that renders no tools: the tools described in the system message, past
     * calls written into the assistant messages' text, in the syntax the answer is then read in.
     */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> inlineTools(List<Map<String, Object>> messages, ChatTools tools,
                                                 ToolCallSyntax syntax) {
        StringBuilder system = new StringBuilder("You can call functions. Their signatures, one JSON object per line,"
                + " are inside <tools></tools>:\n<tools>\n");
        for (Map<String, Object> tool : tools.templateTools()) {
            system.append(new String(Json.write(tool), java.nio.charset.StandardCharsets.UTF_8)).append('\n');
        }
        system.append("</tools>\n\nTo call a function, answer with:\n")
                .append(syntax.write("<function name>", "<arguments as a JSON object>"));
        List<Map<String, Object>> out = new ArrayList<>(messages.size() + 1);
        boolean first = true;
        for (Map<String, Object> message : messages) {
            Map<String, Object> m = new HashMap<>(message);
            if (first && "system".equals(m.get("role"))) {
                m.put("content", m.get("content") + "\n\n" + system);
                system.setLength(0);
            }
            first = false;
            Object calls = m.remove("tool_calls");
            if (calls != null) {
                StringBuilder text = new StringBuilder(String.valueOf(m.getOrDefault("content", "")));
                for (Map<String, Object> call : (List<Map<String, Object>>) calls) {
                    Map<String, Object> fn = (Map<String, Object>) call.get("function");
                    text.append(syntax.write((String) fn.get("name"),
                            new String(Json.write(fn.get("arguments")), java.nio.charset.StandardCharsets.UTF_8)));
                }
                m.put("content", text.toString());
            }
            out.add(m);
        }
        if (!system.isEmpty()) {
            out.addFirst(new HashMap<>(Map.of("role", "system", "content", system.toString())));
        }
        return out;
    }
}
