package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.constrain.JsonLimits;

import java.util.Map;

/**
 * A Responses API request's {@code text.format}: {@code text} (free text), {@code json_object} (any JSON
 * object) or {@code json_schema} ({@code name}, {@code schema}, optional {@code strict}: an object valid
 * against the schema), compiled into the grammar constrained decoding enforces.
 *
 * @param echo    the format as the response object reports it
 * @param grammar what the answer must follow, or null for free text
 */
record ResponseTextFormat(Object echo, JsonGrammar grammar) {
    private static final ResponseTextFormat PLAIN = new ResponseTextFormat(Map.of("type", "text"), null);

    /** The format of a request's {@code text} field; 400 naming the field at fault. */
    static ResponseTextFormat of(JsonNode text) {
        if (text == null || text.isNull()) {
            return PLAIN;
        }
        if (!text.isObject()) {
            throw ApiException.invalidRequest("text", "Invalid type for 'text': expected an object, but got "
                    + JsonTypes.describe(text) + ".");
        }
        JsonNode format = text.get("format");
        if (format == null || format.isNull()) {
            return PLAIN;
        }
        JsonNode type = format.get("type");
        if (!format.isObject() || type == null || !type.isTextual()) {
            throw ApiException.invalidRequest("text.format.type", "Missing required parameter: 'text.format.type'.");
        }
        return switch (type.textValue()) {
            case "text" -> PLAIN;
            case "json_object" -> new ResponseTextFormat(format, JsonGrammar.anyObject(JsonLimits.defaults()));
            case "json_schema" -> new ResponseTextFormat(format, schema(format));
            default -> throw ApiException.invalidRequest("text.format.type", "Invalid value for 'text.format.type': '"
                    + type.textValue() + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        };
    }

    private static JsonGrammar schema(JsonNode format) {
        JsonNode name = format.get("name");
        if (name == null || !name.isTextual() || name.textValue().isEmpty()) {
            throw ApiException.invalidRequest("text.format.name", "Missing required parameter: 'text.format.name'.");
        }
        JsonNode schema = format.get("schema");
        if (schema == null || schema.isNull()) {
            throw ApiException.invalidRequest("text.format.schema", "Missing required parameter:"
                    + " 'text.format.schema'.");
        }
        JsonNode strict = format.get("strict");
        return ResponseFormats.compile(schema, strict != null && strict.asBoolean(false), "text.format.schema");
    }
}
