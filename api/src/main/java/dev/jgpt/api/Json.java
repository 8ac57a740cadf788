package dev.jgpt.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The JSON mapping of the OpenAI protocol: snake_case names, and strict types so that a string where a
 * number belongs is an error naming the field rather than a silent coercion.
 */
final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            // Clients send fields of newer API versions; ignoring what we do not know keeps them working.
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {
    }

    /** Parses a request body; Jackson's exceptions are mapped to 400s by {@link ApiErrors}. */
    static <T> T read(byte[] body, Class<T> type) throws IOException {
        if (body.length == 0) {
            throw ApiException.invalidRequest(null, "The request body is empty; send a JSON object"
                    + " (with Content-Type: application/json).");
        }
        T value = MAPPER.readValue(body, type);
        if (value == null) {
            throw ApiException.invalidRequest(null, "The request body is JSON null; send a JSON object.");
        }
        return value;
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
