package dev.jgpt.api;

import io.javalin.http.Context;

/** A newline-delimited JSON response as Ollama streams it: one JSON object per line, flushed at once. */
final class NdjsonStream {
    private static final byte[] NEWLINE = {'\n'};

    private final StreamingBody body;

    NdjsonStream(Context ctx) {
        this.body = new StreamingBody(ctx, "application/x-ndjson");
    }

    /** @throws ClientGoneException when the client has closed the connection */
    void send(Object line) {
        body.write(Json.write(line), NEWLINE);
    }
}
