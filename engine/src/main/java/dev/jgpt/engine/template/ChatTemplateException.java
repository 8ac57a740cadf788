package dev.jgpt.engine.template;

/**
 * A chat template could not be used: it does not parse, it failed while rendering, or it refused the
 * conversation through {@code raise_exception(msg)} (then the message is exactly the template's, e.g.
 * "System role not supported", so it can be shown to the API caller as is).
 */
public final class ChatTemplateException extends RuntimeException {
    private final boolean raisedByTemplate;

    ChatTemplateException(String message, boolean raisedByTemplate) {
        super(message);
        this.raisedByTemplate = raisedByTemplate;
    }

    ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
        this.raisedByTemplate = false;
    }

    /** True when the template itself rejected the conversation (a client error, not a broken template). */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
