package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Collection;
import java.util.Map;

/** Names JSON and Java types the way error messages talk about them ("a number", "an array"). */
final class JsonTypes {
    private JsonTypes() {
    }

    static String describe(JsonNode node) {
        if (node == null || node.isNull()) {
            return "null";
        }
        if (node.isTextual()) {
            return "a string";
        }
        if (node.isIntegralNumber()) {
            return "an integer";
        }
        if (node.isNumber()) {
            return "a number";
        }
        if (node.isBoolean()) {
            return "a boolean";
        }
        if (node.isArray()) {
            return "an array";
        }
        return "an object";
    }

    /** What a Java target type expects, for "expected ..." in messages. */
    static String expected(Class<?> type) {
        if (type == null) {
            return "a different type";
        }
        if (type == Integer.class || type == Long.class || type == int.class || type == long.class) {
            return "an integer";
        }
        if (type == Double.class || type == Float.class || type == double.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "an object";
        }
        return "a different type";
    }
}
