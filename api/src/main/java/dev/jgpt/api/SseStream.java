package dev.jgpt.api;

import io.javalin.http.Context;

import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response as OpenAI streams it: each event one {@code data: <json>} line and a blank
 * line, flushed at once, and {@code data: [DONE]} at the end.
 */
final class SseStream {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final StreamingBody body;

    SseStream(Context ctx) {
        this.body = new StreamingBody(ctx, "text/event-stream; charset=utf-8");
    }

    /** @throws ClientGoneException when the client has closed the connection */
    void send(Object event) {
        body.write(DATA, Json.write(event), END);
    }

    /** @throws ClientGoneException when the client has closed the connection */
    void done() {
        body.write(DONE);
    }
}
