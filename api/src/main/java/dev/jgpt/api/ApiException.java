package dev.jgpt.api;

/**
 * A request the server refuses, as the OpenAI API reports it: HTTP status, error type, the request field at
 * fault ({@code param}) and a machine-readable {@code code}. Thrown anywhere below a handler and turned into
 * a response in one place, {@link ApiErrors}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Integer retryAfterSeconds;

    private ApiException(int status, String type, String param, String code, String message, Integer retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: the request is malformed; {@code param} names the field (null when the whole body is at fault). */
    public static ApiException invalidRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message, null);
    }

    /** 400 for a field jgpt understands but does not support yet. */
    public static ApiException unsupported(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "unsupported_parameter", message, null);
    }

    /** 401: the request carries no API key, or one the server does not accept. */
    public static ApiException invalidApiKey(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message, null);
    }

    /** 400 for a {@code previous_response_id} that names no stored response, in OpenAI's words. */
    public static ApiException previousResponseNotFound(String id) {
        return new ApiException(400, "invalid_request_error", "previous_response_id", "previous_response_not_found",
                "Previous response with id '" + id + "' not found.", null);
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found",
                "The model '" + model + "' does not exist. GET /v1/models lists the models this server has;"
                        + " add one by copying a .gguf file into the model directory.", null);
    }

    public static ApiException contextLengthExceeded(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "context_length_exceeded", message, null);
    }

    /** 429: the model's queue is full; the client should retry after the given number of seconds. */
    public static ApiException busy(String model, int retryAfterSeconds) {
        return new ApiException(429, "rate_limit_exceeded", null, "queue_full",
                "The model '" + model + "' has too many requests waiting; retry after " + retryAfterSeconds
                        + " second(s).", retryAfterSeconds);
    }

    /** 503: the server cannot serve the request now through no fault of the client (stopping, model unusable). */
    public static ApiException unavailable(String code, String message) {
        return new ApiException(503, "server_error", null, code, message, null);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "invalid_request_error", null, null, message, null);
    }

    public static ApiException withStatus(int status, String message) {
        String type = status >= 500 ? "server_error" : "invalid_request_error";
        return new ApiException(status, type, null, null, message, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /** Seconds for the {@code Retry-After} header, or null. */
    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
