package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jgpt.engine.constrain.JsonGrammar;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat request's function {@code tools} and {@code tool_choice}, checked: what the chat template renders,
 * whether the model may or must call one, and the grammar of a valid call when it must.
 *
 * @param templateTools the tools as the template expects them (OpenAI's shape as maps)
 * @param forced        the function tool_choice names, or null
 */
record ChatTools(List<Map<String, Object>> templateTools, List<Function> functions, Mode mode, String forced) {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    enum Mode { NONE, AUTO, REQUIRED, FUNCTION }

    /** One function tool; {@code parameters} is its JSON Schema (an empty object schema when absent). */
    record Function(String name, JsonNode parameters, boolean strict) {
    }

    static final ChatTools NO_TOOLS = new ChatTools(List.of(), List.of(), Mode.NONE, null);

    /** Parses {@code tools} and {@code tool_choice}; 400 naming the field at fault. */
    @SuppressWarnings("unchecked")
    static ChatTools parse(JsonNode tools, JsonNode toolChoice) {
        boolean noTools = tools == null || tools.isNull() || (tools.isArray() && tools.isEmpty());
        if (noTools) {
            if (toolChoice != null && !toolChoice.isNull() && !(toolChoice.isTextual()
                    && toolChoice.textValue().equals("none"))) {
                throw ApiException.invalidRequest("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is"
                        + " only allowed when 'tools' are specified.");
            }
            return NO_TOOLS;
        }
        if (!tools.isArray()) {
            throw ApiException.invalidRequest("tools", "Invalid type for 'tools': expected an array of tools, but got "
                    + JsonTypes.describe(tools) + ".");
        }
        List<Function> functions = new ArrayList<>();
        List<Map<String, Object>> templateTools = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < tools.size(); i++) {
            String at = "tools[" + i + "]";
            JsonNode tool = tools.get(i);
            JsonNode type = tool.get("type");
            if (!tool.isObject() || type == null || !"function".equals(type.asText())) {
                throw ApiException.invalidRequest(at + ".type", "Invalid value for '" + at + ".type': only tools of"
                        + " type 'function' are supported.");
            }
            JsonNode function = tool.get("function");
            if (function == null || !function.isObject()) {
                throw ApiException.invalidRequest(at + ".function", "Missing required parameter: '" + at
                        + ".function'.");
            }
            JsonNode name = function.get("name");
            if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
                throw ApiException.invalidRequest(at + ".function.name", "Invalid '" + at + ".function.name': expected"
                        + " 1 to 64 letters, digits, underscores or dashes.");
            }
            if (!names.add(name.textValue())) {
                throw ApiException.invalidRequest(at + ".function.name", "Duplicate function name '"
                        + name.textValue() + "' in 'tools'.");
            }
            JsonNode parameters = function.get("parameters");
            if (parameters == null || parameters.isNull()) {
                parameters = Json.MAPPER.createObjectNode().put("type", "object");
            } else {
                // Compiled now so that an unsupported schema is a 400 before the model runs.
                ResponseFormats.compile(parameters, false, at + ".function.parameters");
            }
            JsonNode strict = function.get("strict");
            functions.add(new Function(name.textValue(), parameters, strict != null && strict.asBoolean(false)));
            templateTools.add(Json.MAPPER.convertValue(tool, Map.class));
        }
        Mode mode = Mode.AUTO;
        String forced = null;
        if (toolChoice != null && !toolChoice.isNull()) {
            if (toolChoice.isTextual()) {
                mode = switch (toolChoice.textValue()) {
                    case "none" -> Mode.NONE;
                    case "auto" -> Mode.AUTO;
                    case "required" -> Mode.REQUIRED;
                    default -> throw ApiException.invalidRequest("tool_choice", "Invalid value for 'tool_choice': '"
                            + toolChoice.textValue() + "'. Supported values are: 'none', 'auto', 'required' or"
                            + " {\"type\": \"function\", \"function\": {\"name\": ...}}.");
                };
            } else {
                JsonNode name = toolChoice.path("function").path("name");
                if (!toolChoice.isObject() || !"function".equals(toolChoice.path("type").asText()) || !name.isTextual()) {
                    throw ApiException.invalidRequest("tool_choice", "Invalid 'tool_choice': expected 'none', 'auto',"
                            + " 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}.");
                }
                if (!names.contains(name.textValue())) {
                    throw ApiException.invalidRequest("tool_choice", "Invalid 'tool_choice': no function named '"
                            + name.textValue() + "' in 'tools'.");
                }
                mode = Mode.FUNCTION;
                forced = name.textValue();
            }
        }
        return new ChatTools(List.copyOf(templateTools), List.copyOf(functions), mode, forced);
    }

    /** Whether the model is shown the tools and its answer is read for calls. */
    boolean active() {
        return !functions.isEmpty() && mode != Mode.NONE;
    }

    /** Whether the answer must be a call (required, or a named function). */
    boolean forcesCall() {
        return mode == Mode.REQUIRED || mode == Mode.FUNCTION;
    }

    Set<String> names() {
        Set<String> names = new LinkedHashSet<>();
        for (Function f : functions) {
            names.add(f.name());
        }
        return names;
    }

    /** The grammar of one valid call, in the model's syntax, of the forced function or of any tool. */
    JsonGrammar callGrammar(ToolCallSyntax syntax) {
        ArrayNode alternatives = Json.MAPPER.createArrayNode();
        boolean strict = true;
        for (Function f : functions) {
            if (forced != null && !forced.equals(f.name())) {
                continue;
            }
            strict &= f.strict();
            ObjectNode call = alternatives.addObject();
            call.put("type", "object");
            ObjectNode properties = call.putObject("properties");
            properties.putObject("name").put("const", f.name());
            properties.set(syntax.argumentsKey(), f.parameters());
            call.putArray("required").add("name").add(syntax.argumentsKey());
            call.put("additionalProperties", false);
        }
        JsonNode schema = alternatives.size() == 1 ? alternatives.get(0)
                : Json.MAPPER.createObjectNode().set("anyOf", alternatives);
        return syntax.wrap(ResponseFormats.compile(schema, strict, "tools"));
    }
}
