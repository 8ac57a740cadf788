package dev.jgpt.api;

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

    @Override
    public void handle(Context ctx) throws Exception {
        EmbeddingRequest req = Json.read(ctx.bodyAsBytes(), EmbeddingRequest.class);
        if (req.model() == null) {
            throw ApiException.invalidRequest("model", "Missing required parameter: 'model'.");
        }
        List<TextOrTokens> inputs = TextOrTokens.parseAll(req.input(), "input", false, MAX_INPUTS);
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
    private static int[] tokens(TextModel model, TextOrTokens input, int index, boolean many) {
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
