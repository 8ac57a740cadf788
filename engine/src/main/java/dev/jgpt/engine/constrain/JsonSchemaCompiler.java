package dev.jgpt.engine.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.constrain.GrammarNode.AnyOfNode;
import dev.jgpt.engine.constrain.GrammarNode.AnyValueNode;
import dev.jgpt.engine.constrain.GrammarNode.ArrayNode;
import dev.jgpt.engine.constrain.GrammarNode.FreeObjectNode;
import dev.jgpt.engine.constrain.GrammarNode.LiteralNode;
import dev.jgpt.engine.constrain.GrammarNode.NumberNode;
import dev.jgpt.engine.constrain.GrammarNode.ObjectNode;
import dev.jgpt.engine.constrain.GrammarNode.StringNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles the JSON Schema subset that constrained decoding supports into {@link GrammarNode}s: {@code type}
 * (one or a list), {@code properties}, {@code required}, {@code additionalProperties}, {@code items},
 * {@code minItems}/{@code maxItems}, {@code minLength}/{@code maxLength}, {@code enum}, {@code const},
 * {@code anyOf} and local {@code $ref}s into {@code $defs}/{@code definitions}. Annotations (description,
 * title, ...) are ignored; any other keyword is rejected by name rather than silently not enforced.
 */
final class JsonSchemaCompiler {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("description", "title", "default", "examples", "$schema",
            "$id", "$comment", "$defs", "definitions", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "items", "minItems", "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "$ref");
    private static final int MAX_PROPERTIES = 64;

    private final JsonNode document;
    private final boolean strict;
    private final JsonLimits limits;
    private final Set<String> refsInProgress = new HashSet<>();

    JsonSchemaCompiler(JsonNode document, boolean strict, JsonLimits limits) {
        this.document = document;
        this.strict = strict;
        this.limits = limits;
    }

    GrammarNode compile() {
        return compile(document, "$");
    }

    /** The grammar of any JSON object, nested up to the limits' free depth. */
    static FreeObjectNode anyObject(JsonLimits limits) {
        return freeObject(anyValue(limits, limits.maxFreeDepth() - 1), limits);
    }

    private static FreeObjectNode freeObject(GrammarNode values, JsonLimits limits) {
        return new FreeObjectNode(values, limits.maxObjectMembers(),
                new StringNode(0, Integer.MAX_VALUE, limits.maxKeyBytes()));
    }

    /** Any value; objects and arrays nest {@code depth} more levels. */
    private static AnyValueNode anyValue(JsonLimits limits, int depth) {
        StringNode string = new StringNode(0, Integer.MAX_VALUE, limits.maxStringBytes());
        NumberNode number = new NumberNode(false, limits.maxIntegerDigits(), limits.maxFractionDigits());
        LiteralNode literals = new LiteralNode(List.of("true", "false", "null"));
        if (depth <= 0) {
            return new AnyValueNode(null, null, string, number, literals);
        }
        AnyValueNode inner = anyValue(limits, depth - 1);
        return new AnyValueNode(freeObject(inner, limits), new ArrayNode(inner, 0, limits.maxArrayItems()), string,
                number, literals);
    }

    private GrammarNode compile(JsonNode schema, String path) {
        if (schema.isBoolean()) {
            if (schema.booleanValue()) {
                return anyValue(limits, limits.maxFreeDepth());
            }
            throw new UnsupportedSchemaException("false", path, "the schema 'false' allows no value at all");
        }
        if (!schema.isObject()) {
            throw new UnsupportedSchemaException("type", path, "a schema must be an object, but it is " + schema);
        }
        for (Iterator<String> names = schema.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!KEYWORDS.contains(name) && !ANNOTATIONS.contains(name)) {
                throw new UnsupportedSchemaException(name, path, "JSON Schema keyword '" + name
                        + "' is not supported for constrained output; supported keywords are " + String.join(", ",
                        List.of("type", "properties", "required", "additionalProperties", "items", "minItems",
                                "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "$ref")));
            }
        }
        if (schema.has("$ref")) {
            return reference(schema.get("$ref"), path);
        }
        if (schema.has("const")) {
            return new LiteralNode(List.of(compact(schema.get("const"))));
        }
        if (schema.has("enum")) {
            JsonNode values = schema.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw new UnsupportedSchemaException("enum", path, "'enum' must be a non-empty array");
            }
            List<String> texts = new ArrayList<>();
            values.forEach(v -> texts.add(compact(v)));
            return new LiteralNode(texts);
        }
        if (schema.has("anyOf")) {
            JsonNode alternatives = schema.get("anyOf");
            if (!alternatives.isArray() || alternatives.isEmpty()) {
                throw new UnsupportedSchemaException("anyOf", path, "'anyOf' must be a non-empty array of schemas");
            }
            if (schema.has("type")) {
                throw new UnsupportedSchemaException("anyOf", path, "'anyOf' beside 'type' is not supported;"
                        + " put the type into each alternative");
            }
            List<GrammarNode> nodes = new ArrayList<>();
            for (int i = 0; i < alternatives.size(); i++) {
                nodes.add(compile(alternatives.get(i), path + ".anyOf[" + i + "]"));
            }
            return nodes.size() == 1 ? nodes.getFirst() : new AnyOfNode(nodes);
        }
        JsonNode type = schema.get("type");
        if (type == null) {
            if (schema.has("properties") || schema.has("additionalProperties") || schema.has("required")) {
                return typed("object", schema, path);
            }
            if (schema.has("items") || schema.has("minItems") || schema.has("maxItems")) {
                return typed("array", schema, path);
            }
            if (schema.has("minLength") || schema.has("maxLength")) {
                return typed("string", schema, path);
            }
            return anyValue(limits, limits.maxFreeDepth());
        }
        if (type.isTextual()) {
            return typed(type.textValue(), schema, path);
        }
        if (type.isArray() && !type.isEmpty()) {
            List<GrammarNode> nodes = new ArrayList<>();
            Set<String> seen = new LinkedHashSet<>();
            for (JsonNode t : type) {
                if (!t.isTextual()) {
                    throw new UnsupportedSchemaException("type", path, "'type' must hold type names, got " + t);
                }
                if (seen.add(t.textValue())) {
                    nodes.add(typed(t.textValue(), schema, path));
                }
            }
            return nodes.size() == 1 ? nodes.getFirst() : new AnyOfNode(nodes);
        }
        throw new UnsupportedSchemaException("type", path, "'type' must be a type name or an array of them");
    }

    private GrammarNode reference(JsonNode ref, String path) {
        if (!ref.isTextual()) {
            throw new UnsupportedSchemaException("$ref", path, "'$ref' must be a string");
        }
        String target = ref.textValue();
        JsonNode node = null;
        for (String prefix : List.of("#/$defs/", "#/definitions/")) {
            if (target.startsWith(prefix)) {
                JsonNode defs = document.get(prefix.substring(2, prefix.length() - 1));
                node = defs == null ? null : defs.get(target.substring(prefix.length()));
            }
        }
        if (target.equals("#")) {
            node = document;
        }
        if (node == null) {
            throw new UnsupportedSchemaException("$ref", path, "'$ref' " + target + " does not name a schema in"
                    + " '$defs' or 'definitions' of this document");
        }
        if (!refsInProgress.add(target)) {
            throw new UnsupportedSchemaException("$ref", path, "recursive '$ref' " + target + " is not supported");
        }
        try {
            return compile(node, target);
        } finally {
            refsInProgress.remove(target);
        }
    }

    private GrammarNode typed(String type, JsonNode schema, String path) {
        return switch (type) {
            case "object" -> object(schema, path);
            case "array" -> array(schema, path);
            case "string" -> {
                int min = count(schema, "minLength", path, 0);
                int max = count(schema, "maxLength", path, Integer.MAX_VALUE);
                if (min > max) {
                    throw new UnsupportedSchemaException("minLength", path, "'minLength' exceeds 'maxLength'");
                }
                yield new StringNode(min, max, Math.max(limits.maxStringBytes(), 4 * min));
            }
            case "number" -> new NumberNode(false, limits.maxIntegerDigits(), limits.maxFractionDigits());
            case "integer" -> new NumberNode(true, limits.maxIntegerDigits(), 0);
            case "boolean" -> new LiteralNode(List.of("true", "false"));
            case "null" -> new LiteralNode(List.of("null"));
            default -> throw new UnsupportedSchemaException("type", path, "unknown type '" + type
                    + "'; expected object, array, string, number, integer, boolean or null");
        };
    }

    private GrammarNode object(JsonNode schema, String path) {
        JsonNode properties = schema.get("properties");
        JsonNode additional = schema.get("additionalProperties");
        if (properties != null && !properties.isObject()) {
            throw new UnsupportedSchemaException("properties", path, "'properties' must be an object");
        }
        Set<String> required = new HashSet<>();
        JsonNode req = schema.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw new UnsupportedSchemaException("required", path, "'required' must be an array of names");
            }
            for (JsonNode r : req) {
                String name = r.asText();
                if (properties == null || !properties.has(name)) {
                    throw new UnsupportedSchemaException("required", path, "required property '" + name
                            + "' is not declared in 'properties'");
                }
                required.add(name);
            }
        }
        if (properties == null || properties.isEmpty()) {
            if (additional != null && additional.isBoolean() && !additional.booleanValue()) {
                return new ObjectNode(List.of(), List.of(), new boolean[0]);
            }
            GrammarNode values = additional == null || additional.isBoolean()
                    ? anyValue(limits, limits.maxFreeDepth() - 1)
                    : compile(additional, path + ".additionalProperties");
            return freeObject(values, limits);
        }
        if (properties.size() > MAX_PROPERTIES) {
            throw new UnsupportedSchemaException("properties", path, "more than " + MAX_PROPERTIES
                    + " properties in one object are not supported");
        }
        List<String> keys = new ArrayList<>();
        List<GrammarNode> values = new ArrayList<>();
        boolean[] isRequired = new boolean[properties.size()];
        int i = 0;
        for (Map.Entry<String, JsonNode> p : properties.properties()) {
            keys.add(compact(JSON.getNodeFactory().textNode(p.getKey())));
            values.add(compile(p.getValue(), path + ".properties." + p.getKey()));
            isRequired[i++] = strict || required.contains(p.getKey());
        }
        return new ObjectNode(keys, values, isRequired);
    }

    private GrammarNode array(JsonNode schema, String path) {
        JsonNode items = schema.get("items");
        GrammarNode itemNode = items == null ? anyValue(limits, limits.maxFreeDepth() - 1)
                : compile(items, path + ".items");
        int min = count(schema, "minItems", path, 0);
        int max = schema.has("maxItems") ? count(schema, "maxItems", path, 0)
                : Math.max(min, limits.maxArrayItems());
        if (min > max) {
            throw new UnsupportedSchemaException("minItems", path, "'minItems' exceeds 'maxItems'");
        }
        return new ArrayNode(itemNode, min, max);
    }

    private static int count(JsonNode schema, String keyword, String path, int fallback) {
        JsonNode v = schema.get(keyword);
        if (v == null) {
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) {
            throw new UnsupportedSchemaException(keyword, path, "'" + keyword + "' must be a non-negative integer");
        }
        return v.intValue();
    }

    private static String compact(JsonNode value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON value always serializes", e);
        }
    }
}
