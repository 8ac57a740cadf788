package dev.jgpt.api;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The body of a streamed response (server-sent events or newline-delimited JSON): status and headers are sent
 * when it is opened, and each {@link #write} reaches the client at once. The framing is its users' business.
 */
final class StreamingBody {
    private final OutputStream out;

    /**
     * Starts a 200 response of {@code contentType} that neither the client nor a reverse proxy should buffer.
     *
     * @throws ClientGoneException when the client has closed the connection
     */
    StreamingBody(Context ctx, String contentType) {
        ctx.status(200);
        ctx.contentType(contentType);
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no"); // keep reverse proxies from buffering the stream
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /**
     * Writes {@code parts} one after the other and flushes them to the client.
     *
     * @throws ClientGoneException when the client has closed the connection
     */
    void write(byte[]... parts) {
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
