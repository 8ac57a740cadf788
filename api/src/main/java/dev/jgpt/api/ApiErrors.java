package dev.jgpt.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.jgpt.api.OpenAiProtocol.Error;
import dev.jgpt.api.OpenAiProtocol.ErrorBody;
import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.ModelLoadException;
import dev.jgpt.engine.template.ChatTemplateException;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP responses in OpenAI's error shape
 * {@code {"error": {"message", "type", "param", "code"}}}. Bad input is a 4xx naming the field; a 500 means
 * a bug in jgpt, and only then is the stack trace logged (never sent).
 */
final class ApiErrors {
    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    private ApiErrors() {
    }

    static void register(RoutesConfig routes) {
        routes.exception(Exception.class, (e, ctx) -> respond(ctx, toApiException(e)));
        // Javalin's own responses (no such endpoint, wrong method) get the same shape.
        routes.exception(HttpResponseException.class, (e, ctx) -> respond(ctx, e.getStatus() == 404
                ? ApiException.notFound("Invalid URL (" + ctx.method() + " " + ctx.path() + ").")
                : toApiException(e)));
    }

    /** The error a failure stands for; unexpected exceptions are logged here as bugs. */
    static ApiException toApiException(Throwable e) {
        return switch (e) {
            case ApiException api -> api;
            case MismatchedInputException mismatch -> wrongType(mismatch);
            case JsonProcessingException json -> ApiException.invalidRequest(null,
                    "We could not parse the JSON body of your request (" + firstLine(json.getOriginalMessage())
                            + "). The API expects a JSON object in the request body, sent with Content-Type:"
                            + " application/json.");
            case ContextOverflowException overflow -> ApiException.contextLengthExceeded("messages", overflow.getMessage());
            case ChatTemplateException template when template.raisedByTemplate() ->
                    ApiException.invalidRequest("messages", "The model's chat template refused the conversation: "
                            + template.getMessage());
            case ModelLoadException load -> {
                log.warn("model failed to load: {}", load.getMessage());
                yield ApiException.unavailable("model_load_failed", "The model could not be loaded: "
                        + load.getMessage());
            }
            case HttpResponseException http -> ApiException.withStatus(http.getStatus(), http.getMessage());
            default -> {
                log.error("internal error", e);
                yield ApiException.withStatus(500, "The server had an internal error (" + e.getClass().getSimpleName()
                        + "); this is a bug in jgpt, please report it with the request that caused it.");
            }
        };
    }

    /** The JSON of an error, also sent as an SSE event when a stream fails after it started. */
    static ErrorBody body(ApiException e) {
        return new ErrorBody(new Error(e.getMessage(), e.type(), e.param(), e.code()));
    }

    static void respond(Context ctx, ApiException e) {
        ctx.status(e.status());
        if (e.retryAfterSeconds() != null) {
            ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        }
        ctx.contentType("application/json").result(Json.write(body(e)));
    }

    private static ApiException wrongType(MismatchedInputException e) {
        String param = path(e);
        if (param.isEmpty()) {
            return ApiException.invalidRequest(null, "The request body must be a JSON object, e.g."
                    + " {\"model\": \"...\", \"messages\": [...]}.");
        }
        return ApiException.invalidRequest(param, "Invalid type for '" + param + "': expected "
                + JsonTypes.expected(e.getTargetType()) + ".");
    }

    /** {@code messages[0].content} from Jackson's path. */
    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "invalid JSON";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
