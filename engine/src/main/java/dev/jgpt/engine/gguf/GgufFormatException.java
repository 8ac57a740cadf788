package dev.jgpt.engine.gguf;

/** A GGUF file that cannot be read: truncated, corrupt, or using something jgpt does not support. */
public final class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
