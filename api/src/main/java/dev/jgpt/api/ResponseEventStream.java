package dev.jgpt.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The server-sent events of a streamed Responses API call: each event an {@code event: <type>} line and a
 * {@code data: <json>} line whose JSON carries the same {@code type} and a {@code sequence_number} counting
 * from 0. Unlike chat completions, the stream ends without {@code [DONE]}.
 */
final class ResponseEventStream {
    private final OutputStream out;
    private int sequenceNumber;

    ResponseEventStream(Context ctx) {
        ctx.status(200);
        ctx.contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }

    /**
     * Sends one event: {@code body}'s fields after {@code type} and {@code sequence_number}.
     *
     * @throws SseStream.ClientGoneException when the client has closed the connection
     */
    void send(String type, Object body) {
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("type", type);
        json.put("sequence_number", sequenceNumber++);
        json.setAll((ObjectNode) Json.MAPPER.valueToTree(body));
        try {
            out.write(("event: " + type + "\ndata: ").getBytes(StandardCharsets.UTF_8));
            out.write(Json.write(json));
            out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }
}
