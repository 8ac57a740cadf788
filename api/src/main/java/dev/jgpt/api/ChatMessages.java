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

    /** A string, or the concatenation of an array's text parts; an assistant's may be null (it only made calls). */
    private static String text(JsonNode content, String param, boolean mayBeNull) {
        if (mayBeNull && (content == null || content.isNull())) {
            return "";
        }
        return ContentParts.text(content, param, List.of("text"));
    }
}
