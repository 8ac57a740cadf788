package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.api.OpenAiProtocol.ChatMessage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks a request's {@code messages} and turns them into what chat templates expect. */
final class ChatMessages {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private ChatMessages() {
    }

    static List<Map<String, Object>> toTemplateMessages(List<ChatMessage> messages) {
        if (messages == null) {
            throw ApiException.invalidRequest("messages", "Missing required parameter: 'messages'.");
        }
        if (messages.isEmpty()) {
            throw ApiException.invalidRequest("messages", "'messages' must contain at least one message.");
        }
        List<Map<String, Object>> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            String at = "messages[" + i + "]";
            ChatMessage m = messages.get(i);
            if (m == null) {
                throw ApiException.invalidRequest(at, "'" + at + "' must be an object with 'role' and 'content'.");
            }
            if (m.role() == null) {
                throw ApiException.invalidRequest(at + ".role", "Missing required parameter: '" + at + ".role'.");
            }
            if (!ROLES.contains(m.role())) {
                throw ApiException.invalidRequest(at + ".role", "Invalid value for '" + at + ".role': '" + m.role()
                        + "'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.");
            }
            Map<String, Object> msg = new HashMap<>();
            // Templates know "system"; "developer" is OpenAI's newer name for the same thing.
            msg.put("role", m.role().equals("developer") ? "system" : m.role());
            msg.put("content", text(m.content(), at + ".content", m.role().equals("assistant")));
            if (m.name() != null) {
                msg.put("name", m.name());
            }
            if (m.toolCallId() != null) {
                msg.put("tool_call_id", m.toolCallId());
            }
            if (m.toolCalls() != null && !m.toolCalls().isNull()) {
                if (!m.role().equals("assistant")) {
                    throw ApiException.invalidRequest(at + ".tool_calls", "'" + at + ".tool_calls' is only allowed in"
                            + " assistant messages.");
                }
                msg.put("tool_calls", ToolCallHistory.toTemplate(m.toolCalls(), at + ".tool_calls"));
            }
            out.add(msg);
        }
        return out;
    }

    /** A string, or the concatenation of an array's text parts. */
    private static String text(JsonNode content, String param, boolean mayBeNull) {
        if (content == null || content.isNull()) {
            if (mayBeNull) {
                return "";
            }
            throw ApiException.invalidRequest(param, "Missing required parameter: '" + param + "'.");
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw ApiException.invalidRequest(param, "Invalid type for '" + param
                    + "': expected a string or an array of content parts, but got " + JsonTypes.describe(content) + ".");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            String partAt = param + "[" + i + "]";
            JsonNode part = content.get(i);
            JsonNode type = part.get("type");
            if (!part.isObject() || type == null || !type.isTextual()) {
                throw ApiException.invalidRequest(partAt, "'" + partAt
                        + "' must be an object with a 'type', e.g. {\"type\": \"text\", \"text\": \"...\"}.");
            }
            if (!type.textValue().equals("text")) {
                throw ApiException.unsupported(partAt + ".type", "Content parts of type '" + type.textValue()
                        + "' are not supported; this server accepts only 'text' parts.");
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) {
                throw ApiException.invalidRequest(partAt + ".text", "'" + partAt + ".text' must be a string.");
            }
            sb.append(text.textValue());
        }
        return sb.toString();
    }
}
