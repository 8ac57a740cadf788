package dev.jgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * One streaming {@code /v1/chat/completions} request as a client sees it: when the first piece of text
 * arrived, the gaps between pieces, the tokens generated (from the final usage chunk), and how it ended.
 * Safe to use from many threads at once.
 */
final class StreamingChatClient {
    /** How a request ended: answered in full, refused with 429/503 (allowed under load), or anything else. */
    enum Outcome { COMPLETED, REJECTED, LOST }

    /**
     * @param timeToFirstTokenNanos from sending the request to the first piece of text (-1 if none came)
     * @param gapsNanos             time between consecutive pieces of text
     * @param error                 what went wrong, for LOST requests (else null)
     */
    record Result(Outcome outcome, long timeToFirstTokenNanos, long[] gapsNanos, int completionTokens,
                  long durationNanos, String error) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI endpoint;
    private final String model;
    private final String apiKey;

    /** @param apiKey sent as a bearer token, or null for a server without keys */
    StreamingChatClient(HttpClient http, String baseUrl, String model, String apiKey) {
        this.http = http;
        this.endpoint = URI.create(baseUrl.replaceAll("/+$", "") + "/v1/chat/completions");
        this.model = model;
        this.apiKey = apiKey;
    }

    Result send(String userMessage, int maxTokens, long seed) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("stream", true);
        body.put("max_tokens", maxTokens);
        body.put("seed", seed);
        body.putObject("stream_options").put("include_usage", true);
        body.putArray("messages").addObject().put("role", "user").put("content", userMessage);
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(Duration.ofMinutes(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        long start = System.nanoTime();
        try {
            HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                int status = response.statusCode();
                if (status == 429 || status == 503) {
                    in.readAllBytes();
                    return new Result(Outcome.REJECTED, -1, new long[0], 0, System.nanoTime() - start, null);
                }
                if (status != 200) {
                    return lost(start, "HTTP " + status + ": " + new String(in.readAllBytes(), StandardCharsets.UTF_8));
                }
                return read(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), start);
            }
        } catch (IOException e) {
            return lost(start, e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return lost(start, "interrupted");
        }
    }

    private static Result read(BufferedReader lines, long start) throws IOException {
        long first = -1;
        long last = 0;
        long[] gaps = new long[16];
        int gapCount = 0;
        int tokens = -1;
        String line;
        while ((line = lines.readLine()) != null) {
            if (!line.startsWith("data: ")) {
                continue;
            }
            String data = line.substring("data: ".length());
            if (data.equals("[DONE]")) {
                if (tokens < 0) {
                    return lost(start, "the stream ended without a usage chunk");
                }
                return new Result(Outcome.COMPLETED, first < 0 ? -1 : first - start,
                        Arrays.copyOf(gaps, gapCount), tokens, System.nanoTime() - start, null);
            }
            long now = System.nanoTime();
            JsonNode chunk = JSON.readTree(data);
            if (chunk.has("error")) {
                return lost(start, "error event: " + chunk.get("error"));
            }
            JsonNode usage = chunk.get("usage");
            if (usage != null && !usage.isNull()) {
                tokens = usage.get("completion_tokens").asInt();
            }
            String content = chunk.at("/choices/0/delta/content").asText("");
            if (!content.isEmpty()) {
                if (first < 0) {
                    first = now;
                } else {
                    if (gapCount == gaps.length) {
                        gaps = Arrays.copyOf(gaps, gaps.length * 2);
                    }
                    gaps[gapCount++] = now - last;
                }
                last = now;
            }
        }
        return lost(start, "the stream ended without [DONE]");
    }

    private static Result lost(long start, String error) {
        return new Result(Outcome.LOST, -1, new long[0], 0, System.nanoTime() - start, error);
    }
}
