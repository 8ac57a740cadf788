package dev.jgpt.engine.model;

/** A model file that jgpt cannot run, with the reason and, where there is one, what to do about it. */
public final class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
