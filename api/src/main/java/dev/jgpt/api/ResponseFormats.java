package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.constrain.JsonLimits;
import dev.jgpt.engine.constrain.UnsupportedSchemaException;

/**
 * A chat request's {@code response_format}: {@code text} (no constraint), {@code json_object} (any JSON
 * object) or {@code json_schema} (an object valid against the given schema), checked and compiled into the
 * grammar that constrained decoding enforces.
 */
final class ResponseFormats {
    private ResponseFormats() {
    }

    /** The grammar the answer must follow, or null for free text; 400 naming the field at fault. */
    static JsonGrammar grammar(JsonNode format) {
        if (format == null || format.isNull()) {
            return null;
        }
        if (!format.isObject()) {
            throw ApiException.invalidRequest("response_format", "Invalid type for 'response_format': expected an"
                    + " object, but got " + JsonTypes.describe(format) + ".");
        }
        JsonNode type = format.get("type");
        if (type == null || !type.isTextual()) {
            throw ApiException.invalidRequest("response_format.type", "Missing required parameter:"
                    + " 'response_format.type'.");
        }
        return switch (type.textValue()) {
            case "text" -> null;
            case "json_object" -> JsonGrammar.anyObject(JsonLimits.defaults());
            case "json_schema" -> schema(format.get("json_schema"));
            default -> throw ApiException.invalidRequest("response_format.type", "Invalid value for"
                    + " 'response_format.type': '" + type.textValue() + "'. Supported values are: 'text',"
                    + " 'json_object' and 'json_schema'.");
        };
    }

    private static JsonGrammar schema(JsonNode jsonSchema) {
        if (jsonSchema == null || !jsonSchema.isObject()) {
            throw ApiException.invalidRequest("response_format.json_schema", "Missing required parameter:"
                    + " 'response_format.json_schema' (an object with 'name' and 'schema').");
        }
        JsonNode name = jsonSchema.get("name");
        if (name == null || !name.isTextual() || name.textValue().isEmpty()) {
            throw ApiException.invalidRequest("response_format.json_schema.name", "Missing required parameter:"
                    + " 'response_format.json_schema.name'.");
        }
        JsonNode schema = jsonSchema.get("schema");
        if (schema == null || schema.isNull()) {
            throw ApiException.invalidRequest("response_format.json_schema.schema", "Missing required parameter:"
                    + " 'response_format.json_schema.schema'.");
        }
        JsonNode strict = jsonSchema.get("strict");
        return compile(schema, strict != null && strict.asBoolean(false), "response_format.json_schema.schema");
    }

    /** The grammar of a schema; 400 naming {@code param} and the unsupported keyword when it cannot be. */
    static JsonGrammar compile(JsonNode schema, boolean strict, String param) {
        try {
            return JsonGrammar.fromSchema(schema, strict, JsonLimits.defaults());
        } catch (UnsupportedSchemaException e) {
            throw ApiException.invalidRequest(param, "Invalid schema for '" + param + "': " + e.getMessage() + ".");
        }
    }
}
