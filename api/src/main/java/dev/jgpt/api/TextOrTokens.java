package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * One prompt or embeddings input as OpenAI's API takes it: text to tokenize, or token ids as given (exactly one of
 * the two is set). {@link #parseAll} reads the four shapes {@code /v1/completions}' {@code prompt} and
 * {@code /v1/embeddings}' {@code input} share: a string, an array of strings, an array of token ids, or an array of
 * token-id arrays.
 */
record TextOrTokens(String text, int[] tokens) {

    /**
     * The items of field {@code param}, in order.
     *
     * @param emptyText whether an empty string is accepted as text
     * @param maxItems  most items an array of strings or of token-id arrays may hold
     * @throws ApiException a 400 naming the offending field (or item) when the value has none of the four shapes
     */
    static List<TextOrTokens> parseAll(JsonNode node, String param, boolean emptyText, int maxItems) {
        if (node == null || node.isNull()) {
            throw ApiException.invalidRequest(param, "Missing required parameter: '" + param + "'.");
        }
        if (node.isTextual()) {
            return List.of(text(node, param, emptyText));
        }
        if (!node.isArray()) {
            throw ApiException.invalidRequest(param, "Invalid type for '" + param + "': expected a string or an array,"
                    + " but got " + JsonTypes.describe(node) + ".");
        }
        if (node.isEmpty()) {
            throw ApiException.invalidRequest(param, "'" + param + "' is an empty array; send at least one " + param
                    + ".");
        }
        if (node.get(0).isIntegralNumber()) {
            return List.of(new TextOrTokens(null, tokenIds(node, param)));
        }
        if (node.size() > maxItems) {
            throw ApiException.invalidRequest(param, "'" + param + "' has " + node.size() + " items; at most "
                    + maxItems + " are allowed per request.");
        }
        List<TextOrTokens> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            String itemParam = param + "[" + i + "]";
            if (item.isTextual()) {
                out.add(text(item, itemParam, emptyText));
            } else if (item.isArray() && !item.isEmpty()) {
                out.add(new TextOrTokens(null, tokenIds(item, itemParam)));
            } else {
                throw ApiException.invalidRequest(itemParam, "Invalid '" + itemParam + "': expected "
                        + (emptyText ? "a string or a non-empty array" : "a non-empty string or array")
                        + " of token ids, but got " + JsonTypes.describe(item) + ".");
            }
        }
        return out;
    }

    private static TextOrTokens text(JsonNode node, String param, boolean emptyText) {
        if (!emptyText && node.textValue().isEmpty()) {
            throw ApiException.invalidRequest(param, "'" + param + "' is an empty string; send some text.");
        }
        return new TextOrTokens(node.textValue(), null);
    }

    private static int[] tokenIds(JsonNode array, String param) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw ApiException.invalidRequest(param, "Invalid '" + param + "[" + i + "]': expected a token id"
                        + " (an integer), but got " + JsonTypes.describe(id) + ".");
            }
            ids[i] = id.intValue();
        }
        return ids;
    }
}
