package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.jgpt.api.OpenAiProtocol.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns a Responses API {@code input} into chat messages: a string is one user message; an array holds
 * message items ({@code {"role", "content"}}, optionally {@code "type": "message"}) whose content is a string
 * or text parts ({@code input_text}, or {@code output_text} in earlier assistant turns), {@code function_call}
 * items (the assistant's earlier calls, joined to the assistant message before them) and
 * {@code function_call_output} items (tool results).
 */
final class ResponseInput {
    private static final Set<String> ROLES = Set.of("user", "system", "developer", "assistant");
    private static final List<String> TEXT_PARTS = List.of("input_text", "output_text", "text");

    private ResponseInput() {
    }

    static List<ChatMessage> messages(JsonNode input) {
        if (input == null || input.isNull()) {
            throw ApiException.invalidRequest("input", "Missing required parameter: 'input'.");
        }
        if (input.isTextual()) {
            return List.of(message("user", input.textValue()));
        }
        if (!input.isArray()) {
            throw ApiException.invalidRequest("input", "Invalid type for 'input': expected a string or an array of"
                    + " input items, but got " + JsonTypes.describe(input) + ".");
        }
        if (input.isEmpty()) {
            throw ApiException.invalidRequest("input", "'input' must contain at least one item.");
        }
        List<ChatMessage> out = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            String at = "input[" + i + "]";
            JsonNode item = input.get(i);
            if (!item.isObject()) {
                throw ApiException.invalidRequest(at, "'" + at + "' must be an object with 'role' and 'content'.");
            }
            String type = item.path("type").asText("message");
            switch (type) {
                case "message" -> out.add(message(item, at));
                case "function_call" -> addCall(out, ResponseTools.chatToolCall(item, at));
                case "function_call_output" -> out.add(new ChatMessage("tool",
                        TextNode.valueOf(ContentParts.text(item.get("output"), at + ".output", TEXT_PARTS)), null,
                        item.path("call_id").asText(null), null));
                default -> throw ApiException.unsupported(at + ".type", "Input items of type '" + type + "' are not"
                        + " supported; this server accepts 'message', 'function_call' and 'function_call_output'.");
            }
        }
        return out;
    }

    /** Joins a call to the assistant message just before it (one turn may make several), else starts one. */
    private static void addCall(List<ChatMessage> out, ObjectNode call) {
        ChatMessage last = out.isEmpty() ? null : out.getLast();
        if (last != null && last.role().equals("assistant")) {
            ArrayNode calls = last.toolCalls() instanceof ArrayNode a ? a.deepCopy() : Json.MAPPER.createArrayNode();
            calls.add(call);
            out.set(out.size() - 1, new ChatMessage("assistant", last.content(), last.name(), null, calls));
        } else {
            out.add(new ChatMessage("assistant", null, null, null, Json.MAPPER.createArrayNode().add(call)));
        }
    }

    private static ChatMessage message(JsonNode item, String at) {
        JsonNode role = item.get("role");
        if (role == null || !role.isTextual()) {
            throw ApiException.invalidRequest(at + ".role", "Missing required parameter: '" + at + ".role'.");
        }
        if (!ROLES.contains(role.textValue())) {
            throw ApiException.invalidRequest(at + ".role", "Invalid value for '" + at + ".role': '" + role.textValue()
                    + "'. Supported values are: 'user', 'system', 'developer' and 'assistant'.");
        }
        return message(role.textValue(), ContentParts.text(item.get("content"), at + ".content", TEXT_PARTS));
    }

    static ChatMessage message(String role, String text) {
        return new ChatMessage(role, TextNode.valueOf(text), null, null, null);
    }
}
