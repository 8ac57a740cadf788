package dev.jgpt.engine.template;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One conversation turn in the shape chat templates read (OpenAI / Hugging Face message dicts).
 *
 * @param role             system, user, assistant or tool
 * @param content          the text; null for an assistant turn that only calls tools
 * @param toolCalls        for assistant turns: {id, type:"function", function:{name, arguments}}, arguments as a
 *                         parsed object (Map) like HF passes them; null or empty when none
 * @param toolCallId       for tool turns: the id of the call this answers, else null
 * @param name             for tool turns: the function's name, else null
 * @param reasoningContent the model's reasoning for assistant turns (Qwen3 and friends), else null
 */
public record ChatMessage(String role, String content, List<Map<String, Object>> toolCalls, String toolCallId,
                          String name, String reasoningContent) {

    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("a chat message needs a role (system, user, assistant or tool)");
        }
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content, null, null, null, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content, null, null, null, null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content, null, null, null, null);
    }

    public static ChatMessage tool(String toolCallId, String name, String content) {
        return new ChatMessage("tool", content, null, toolCallId, name, null);
    }

    /**
     * The message as a template sees it. Absent fields are left out rather than set to null, because
     * templates test presence ({@code 'tool_calls' in message}, {@code message.reasoning_content is defined}).
     */
    public Map<String, Object> toTemplateMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        if (!toolCalls.isEmpty()) {
            map.put("tool_calls", toolCalls);
        }
        if (toolCallId != null) {
            map.put("tool_call_id", toolCallId);
        }
        if (name != null) {
            map.put("name", name);
        }
        if (reasoningContent != null) {
            map.put("reasoning_content", reasoningContent);
        }
        return map;
    }

    public static List<Map<String, Object>> toTemplateMaps(List<ChatMessage> messages) {
        return messages.stream().map(ChatMessage::toTemplateMap).toList();
    }
}
