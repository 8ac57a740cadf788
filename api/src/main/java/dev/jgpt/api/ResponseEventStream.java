package dev.jgpt.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;

import java.nio.charset.StandardCharsets;

/**
 * The server-sent events of a streamed Responses API call: each event an {@code event: <type>} line and a
 * {@code data: <json>} line whose JSON carries the same {@code type} and a {@code sequence_number} counting
 * from 0. Unlike chat completions, the stream ends without {@code [DONE]}.
 */
final class ResponseEventStream {
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final StreamingBody body;
    private int sequenceNumber;

    ResponseEventStream(Context ctx) {
        this.body = new StreamingBody(ctx, "text/event-stream; charset=utf-8");
    }

    /**
     * Sends one event: {@code fields}' fields after {@code type} and {@code sequence_number}.
     *
     * @throws ClientGoneException when the client has closed the connection
     */
    void send(String type, Object fields) {
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("type", type);
        json.put("sequence_number", sequenceNumber++);
        json.setAll((ObjectNode) Json.MAPPER.valueToTree(fields));
        body.write(("event: " + type + "\ndata: ").getBytes(StandardCharsets.UTF_8), Json.write(json), END);
    }
}
