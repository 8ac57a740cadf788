package dev.jgpt.api;

import java.io.IOException;

/** The client closed the connection mid-stream: generation should stop and nothing more can be sent. */
final class ClientGoneException extends RuntimeException {
    ClientGoneException(IOException cause) {
        super("the client closed the connection", cause);
    }
}
