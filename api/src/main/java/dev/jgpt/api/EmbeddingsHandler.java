package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.api.OpenAiProtocol.Embedding;
import dev.jgpt.api.OpenAiProtocol.EmbeddingList;
import dev.jgpt.api.OpenAiProtocol.EmbeddingRequest;
import dev.jgpt.api.OpenAiProtocol.EmbeddingUsage;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings}: one unit-length vector per input (a string or token ids, alone or in an
 * array), the mean of the model's final hidden states over the input's tokens, as floats or as base64 of
 * little-endian float32s.
 */
final class EmbeddingsHandler implements Handler {
    /** OpenAI's limit on inputs per request. */
    static final int MAX_INPUTS = 2048;

    private final ModelCatalog catalog;

    EmbeddingsHandler(ModelCatalog catalog) {
        this.catalog = catalog;
    }

    /** One input: text to tokenize, or token ids as given. */
    private record Input(String text, int[] tokens) {
    }

    @Override
    public void handle(Context ctx) throws Exception {
        EmbeddingRequest req = Json.read(ctx.bodyAsBytes(), EmbeddingRequest.class);
        if (req.model() == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        List<Input> inputs = inputs(req.input());
        boolean base64 = base64(req.encodingFormat());
        if (req.dimensions() != null && req.dimensions() < 1) {
            throw ApiException.invalidRequest("dimensions", "Invalid 'dimensions': " + req.dimensions()
                    + ". Expected a value >= 1.");
        }
        ServedModel served = catalog.find(req.model());
        served.run(model -> {
            int size = model.embeddingSize();
            if (req.dimensions() != null && req.dimensions() != size) {
                throw ApiException.invalidRequest("dimensions", "This model's embeddings have " + size
                        + " dimensions and cannot be shortened to " + req.dimensions() + "; leave 'dimensions' out"
                        + " or set it to " + size + ".");
            }
            List<int[]> tokenized = new ArrayList<>(inputs.size());
            for (int i = 0; i < inputs.size(); i++) {
                tokenized.add(tokens(model, inputs.get(i), i, inputs.size() > 1));
            }
            List<Embedding> data = new ArrayList<>(inputs.size());
            int promptTokens = 0;
            for (int i = 0; i < tokenized.size(); i++) {
                float[] vector = model.embed(tokenized.get(i));
                promptTokens += tokenized.get(i).length;
                data.add(new Embedding("embedding", base64 ? encode(vector) : boxed(vector), i));
            }
            ctx.contentType("application/json").result(Json.write(new EmbeddingList("list", data, served.name(),
                    new EmbeddingUsage(promptTokens, promptTokens))));
            return null;
        });
    }

    /** The input's tokens, checked against the vocabulary and the context. */
    private static int[] tokens(TextModel model, Input input, int index, boolean many) {
        String param = many ? "input[" + index + "]" : "input";
        int[] tokens = input.text() != null ? model.textPrompt(input.text()) : input.tokens();
        for (int t : tokens) {
            if (t < 0 || t >= model.vocabularySize()) {
                throw ApiException.invalidRequest(param, "Invalid token id " + t + " in '" + param + "': the model's"
                        + " vocabulary has ids 0 to " + (model.vocabularySize() - 1) + ".");
            }
        }
        if (tokens.length > model.contextSize()) {
            throw ApiException.contextLengthExceeded(param, "This model's maximum context length is "
                    + model.contextSize() + " tokens, however you requested " + tokens.length + " tokens in '"
                    + param + "'. Please reduce the length of the input.");
        }
        return tokens;
    }

    /** A string, an array of strings, an array of token ids, or an array of token-id arrays. */
    private static List<Input> inputs(JsonNode input) {
        if (input == null || input.isNull()) {
            throw ApiException.invalidRequest("input", "Missing required parameter: 'input'.");
        }
        if (input.isTextual()) {
            return List.of(text(input, "input"));
        }
        if (!input.isArray()) {
            throw ApiException.invalidRequest("input", "Invalid type for 'input': expected a string or an array,"
                    + " but got " + JsonTypes.describe(input) + ".");
        }
        if (input.isEmpty()) {
            throw ApiException.invalidRequest("input", "'input' is an empty array; send at least one string.");
        }
        if (input.get(0).isIntegralNumber()) {
            return List.of(new Input(null, tokenIds(input, "input")));
        }
        if (input.size() > MAX_INPUTS) {
            throw ApiException.invalidRequest("input", "'input' has " + input.size() + " items; at most "
                    + MAX_INPUTS + " are allowed per request.");
        }
        List<Input> out = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String param = "input[" + i + "]";
            if (item.isTextual()) {
                out.add(text(item, param));
            } else if (item.isArray() && !item.isEmpty()) {
                out.add(new Input(null, tokenIds(item, param)));
            } else {
                throw ApiException.invalidRequest(param, "Invalid '" + param + "': expected a non-empty string or"
                        + " array of token ids, but got " + JsonTypes.describe(item) + ".");
            }
        }
        return out;
    }

    private static Input text(JsonNode node, String param) {
        if (node.textValue().isEmpty()) {
            throw ApiException.invalidRequest(param, "'" + param + "' is an empty string; send some text.");
        }
        return new Input(node.textValue(), null);
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

    private static boolean base64(String format) {
        if (format == null || format.equals("float")) {
            return false;
        }
        if (format.equals("base64")) {
            return true;
        }
        throw ApiException.invalidRequest("encoding_format", "Invalid 'encoding_format': '" + format
                + "'. Expected 'float' or 'base64'.");
    }

    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
    }

    /** Little-endian float32s, base64-encoded, as OpenAI sends them. */
    private static String encode(float[] v) {
        ByteBuffer bytes = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bytes.putFloat(f);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
