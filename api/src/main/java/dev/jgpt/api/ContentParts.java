package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * Message content as OpenAI's chat and Responses APIs send it: a string, or an array of typed parts of which this
 * server reads only the text ones.
 */
final class ContentParts {
    private ContentParts() {
    }

    /**
     * The string, or the concatenation of the parts' texts.
     *
     * @param param     the field's name in error messages, e.g. {@code messages[0].content}
     * @param textTypes the part types that carry text, the first one shown as the example in errors
     * @throws ApiException a 400 when the content is missing, of another type, or has a part that is not text
     */
    static String text(JsonNode content, String param, List<String> textTypes) {
        if (content == null || content.isNull()) {
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
                throw ApiException.invalidRequest(partAt, "'" + partAt + "' must be an object with a 'type', e.g."
                        + " {\"type\": \"" + textTypes.getFirst() + "\", \"text\": \"...\"}.");
            }
            if (!textTypes.contains(type.textValue())) {
                throw ApiException.unsupported(partAt + ".type", "Content parts of type '" + type.textValue()
                        + "' are not supported; this server accepts only " + quoted(textTypes) + " parts.");
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) {
                throw ApiException.invalidRequest(partAt + ".text", "'" + partAt + ".text' must be a string.");
            }
            sb.append(text.textValue());
        }
        return sb.toString();
    }

    /** {@code 'a'}, {@code 'a' and 'b'}, {@code 'a', 'b' and 'c'}. */
    private static String quoted(List<String> types) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < types.size(); i++) {
            if (i > 0) {
                sb.append(i == types.size() - 1 ? " and " : ", ");
            }
            sb.append('\'').append(types.get(i)).append('\'');
        }
        return sb.toString();
    }
}
