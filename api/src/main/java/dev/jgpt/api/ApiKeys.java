package dev.jgpt.api;

import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * The API-key check in front of the API routes, as OpenAI does it: with keys configured, a request must
 * carry {@code Authorization: Bearer KEY} with one of them, or it gets 401 {@code invalid_api_key}; with
 * none configured every request passes. Keys are compared in constant time and never echoed in full.
 */
final class ApiKeys implements Handler {
    private final List<byte[]> keys;

    ApiKeys(List<String> keys) {
        this.keys = new ArrayList<>(keys.size());
        for (String k : keys) {
            this.keys.add(k.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Override
    public void handle(Context ctx) {
        if (keys.isEmpty()) {
            return;
        }
        String header = ctx.header("Authorization");
        String key = bearer(header);
        if (key == null) {
            throw ApiException.invalidApiKey("You didn't provide an API key. You need to provide your API key in an"
                    + " Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). The server's"
                    + " keys are set with 'jgpt serve --api-key' or JGPT_API_KEY.");
        }
        if (!accepts(key)) {
            throw ApiException.invalidApiKey("Incorrect API key provided: " + masked(key) + ". Use one of the keys"
                    + " the server was started with ('jgpt serve --api-key' or JGPT_API_KEY).");
        }
    }

    private boolean accepts(String key) {
        byte[] given = key.getBytes(StandardCharsets.UTF_8);
        boolean match = false;
        for (byte[] k : keys) {
            match |= MessageDigest.isEqual(k, given); // no early exit: timing says nothing about which key
        }
        return match;
    }

    /** The token of {@code Bearer TOKEN} (scheme case-insensitive), or null when absent or empty. */
    private static String bearer(String header) {
        if (header == null) {
            return null;
        }
        String h = header.strip();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String token = h.substring(7).strip();
        return token.isEmpty() ? null : token;
    }

    /** Enough of a key to recognise it, as OpenAI shows it: {@code sk-ab***wxyz}. */
    static String masked(String key) {
        if (key.length() <= 8) {
            return "***";
        }
        return key.substring(0, 5) + "***" + key.substring(key.length() - 4);
    }
}
