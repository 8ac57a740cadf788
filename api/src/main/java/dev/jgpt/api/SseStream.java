package dev.jgpt.api;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response as OpenAI streams it: each event one {@code data: <json>} line and a blank
 * line, flushed at once, and {@code data: [DONE]} at the end.
 */
final class SseStream {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    /** The client closed the connection: generation should stop and nothing more can be sent. */
    static final class ClientGoneException extends RuntimeException {
        ClientGoneException(IOException cause) {
            super("the client closed the connection", cause);
        }
    }

    private final OutputStream out;

    SseStream(Context ctx) {
        ctx.status(200);
        ctx.contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no"); // keep reverse proxies from buffering the stream
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    void send(Object event) {
        write(DATA, Json.write(event), END);
    }

    void done() {
        write(DONE);
    }

    private void write(byte[]... parts) {
        try {
            for (byte[] p : parts) {
                out.write(p);
            }
            out.flush();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }
}
