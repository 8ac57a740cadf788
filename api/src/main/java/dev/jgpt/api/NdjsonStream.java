package dev.jgpt.api;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;

/** A newline-delimited JSON response as Ollama streams it: one JSON object per line, flushed at once. */
final class NdjsonStream {
    private static final byte[] NEWLINE = {'\n'};

    private final OutputStream out;

    NdjsonStream(Context ctx) {
        ctx.status(200);
        ctx.contentType("application/x-ndjson");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }

    /** @throws SseStream.ClientGoneException when the client has closed the connection */
    void send(Object line) {
        try {
            out.write(Json.write(line));
            out.write(NEWLINE);
            out.flush();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }
}
