package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Function tools in the Responses API's shapes, translated to and from the chat endpoint's so both share
 * one implementation ({@link ChatTools}, {@link StructuredOutput}): {@code {"type": "function", "name", ...}}
 * tools, {@code {"type": "function", "name"}} tool choices, and {@code function_call} items.
 */
final class ResponseTools {
    private ResponseTools() {
    }

    /** A request's {@code tools} and {@code tool_choice}; 400 naming the field at fault. */
    static ChatTools parse(JsonNode tools, JsonNode toolChoice) {
        return ChatTools.parse(chatTools(tools), chatToolChoice(toolChoice));
    }

    private static JsonNode chatTools(JsonNode tools) {
        if (tools == null || !tools.isArray()) {
            return tools;
        }
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode tool = tools.get(i);
            String type = tool.path("type").asText();
            if (!type.equals("function")) {
                throw ApiException.unsupported("tools[" + i + "].type", "Tools of type '" + type + "' are not"
                        + " supported; this server runs only your own 'function' tools.");
            }
            ObjectNode function = Json.MAPPER.createObjectNode();
            for (String field : new String[] {"name", "description", "parameters", "strict"}) {
                if (tool.has(field)) {
                    function.set(field, tool.get(field));
                }
            }
            out.addObject().put("type", "function").set("function", function);
        }
        return out;
    }

    private static JsonNode chatToolChoice(JsonNode toolChoice) {
        if (toolChoice == null || !toolChoice.isObject()) {
            return toolChoice;
        }
        if (!"function".equals(toolChoice.path("type").asText()) || !toolChoice.path("name").isTextual()) {
            throw ApiException.invalidRequest("tool_choice", "Invalid 'tool_choice': expected 'none', 'auto',"
                    + " 'required' or {\"type\": \"function\", \"name\": ...}.");
        }
        ObjectNode out = Json.MAPPER.createObjectNode().put("type", "function");
        out.putObject("function").set("name", toolChoice.get("name"));
        return out;
    }

    /** An input {@code function_call} item as one entry of a chat message's {@code tool_calls}. */
    static ObjectNode chatToolCall(JsonNode item, String at) {
        JsonNode callId = item.get("call_id");
        JsonNode name = item.get("name");
        JsonNode arguments = item.get("arguments");
        if (callId == null || !callId.isTextual()) {
            throw ApiException.invalidRequest(at + ".call_id", "Missing required parameter: '" + at + ".call_id'.");
        }
        if (name == null || !name.isTextual()) {
            throw ApiException.invalidRequest(at + ".name", "Missing required parameter: '" + at + ".name'.");
        }
        if (arguments == null || !arguments.isTextual()) {
            throw ApiException.invalidRequest(at + ".arguments", "'" + at + ".arguments' must be a JSON text.");
        }
        ObjectNode call = Json.MAPPER.createObjectNode().put("id", callId.textValue()).put("type", "function");
        call.putObject("function").put("name", name.textValue()).set("arguments", TextNode.valueOf(arguments.textValue()));
        return call;
    }
}
