package dev.jgpt.api;

import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a generation into an SSE stream: a first event, one per piece of text, a final one with the finish
 * reason, optionally one with usage, then {@code [DONE]}. A client that disconnects stops the generation
 * (freeing the model for the next request); a failure after the stream began becomes an error event.
 */
final class StreamedGeneration {
    private static final Logger log = LoggerFactory.getLogger(StreamedGeneration.class);

    /** The endpoint's event shapes. */
    interface Events {
        Object start();

        Object text(String piece);

        Object finish(GenerationResult result);

        /** The usage event, or null when the client did not ask for it. */
        Object usage(GenerationResult result);
    }

    private StreamedGeneration() {
    }

    static void run(SseStream sse, Events events, TextModel model, int[] prompt, GenerationRequest request) {
        try {
            sse.send(events.start());
            GenerationResult result = model.generate(prompt, request, piece -> sse.send(events.text(piece)));
            sse.send(events.finish(result));
            Object usage = events.usage(result);
            if (usage != null) {
                sse.send(usage);
            }
            sse.done();
        } catch (SseStream.ClientGoneException e) {
            log.debug("client disconnected mid-stream; generation stopped");
        } catch (RuntimeException e) {
            // Headers are sent: the status cannot change any more, so the error travels as an event.
            try {
                sse.send(ApiErrors.body(ApiErrors.toApiException(e)));
            } catch (SseStream.ClientGoneException gone) {
                log.debug("client disconnected before the error event could be sent");
            }
        }
    }
}
