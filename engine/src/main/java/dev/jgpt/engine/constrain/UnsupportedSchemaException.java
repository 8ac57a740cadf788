package dev.jgpt.engine.constrain;

/** A JSON Schema uses a keyword or a form that constrained decoding does not support, or is malformed. */
public final class UnsupportedSchemaException extends IllegalArgumentException {
    private final String keyword;
    private final String path;

    public UnsupportedSchemaException(String keyword, String path, String message) {
        super(message + " (at " + path + ")");
        this.keyword = keyword;
        this.path = path;
    }

    /** The offending keyword, e.g. {@code pattern}. */
    public String keyword() {
        return keyword;
    }

    /** Where in the schema, as a JSON path from {@code $}. */
    public String path() {
        return path;
    }
}
