package dev.jgpt.api;

import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.TokenLogprob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Runs the generations of a request's choices into one SSE stream: for each choice in turn a first event,
 * one per piece of text (with the log-probabilities of the tokens that made it, when asked for), a final
 * one with the finish reason; then optionally one with the usage of all choices, then {@code [DONE]}. A
 * client that disconnects stops the generation (freeing the model for the next request); a failure after
 * the stream began becomes an error event.
 */
final class StreamedGeneration {
    private static final Logger log = LoggerFactory.getLogger(StreamedGeneration.class);

    /** The endpoint's event shapes; {@code choice} is the choice's index. */
    interface Events {
        Object start(int choice);

        /**
         * A piece of text and the log-probabilities of the tokens behind it (empty unless the request asks
         * for them; the piece is empty when tokens end in a stop string or hold part of a character).
         */
        Object text(int choice, String piece, List<TokenLogprob> logprobs);

        Object finish(int choice, GenerationResult result);

        /** The usage event for all choices, or null when the client did not ask for it. */
        Object usage(List<GenerationResult> results);
    }

    private StreamedGeneration() {
    }

    /** Streams one generation per request, all from {@code prompt}, the i-th as choice i. */
    static void run(SseStream sse, Events events, TextModel model, int[] prompt, List<GenerationRequest> requests) {
        run(sse, events, model, Collections.nCopies(requests.size(), prompt), requests);
    }

    /** Streams one generation per request, the i-th from {@code prompts.get(i)} as choice i. */
    static void run(SseStream sse, Events events, TextModel model, List<int[]> prompts,
                    List<GenerationRequest> requests) {
        try {
            List<GenerationResult> results = new ArrayList<>(requests.size());
            for (int i = 0; i < requests.size(); i++) {
                results.add(runChoice(sse, events, model, prompts.get(i), requests.get(i), i));
            }
            Object usage = events.usage(results);
            if (usage != null) {
                sse.send(usage);
            }
            sse.done();
        } catch (ClientGoneException e) {
            log.debug("client disconnected mid-stream; generation stopped");
        } catch (RuntimeException e) {
            // Headers are sent: the status cannot change any more, so the error travels as an event.
            try {
                sse.send(ApiErrors.body(ApiErrors.toApiException(e)));
            } catch (ClientGoneException gone) {
                log.debug("client disconnected before the error event could be sent");
            }
        }
    }

    private static GenerationResult runChoice(SseStream sse, Events events, TextModel model, int[] prompt,
                                              GenerationRequest request, int choice) {
        sse.send(events.start(choice));
        // Log-probabilities arrive before their token's text; they wait here for the piece they belong to.
        List<TokenLogprob> pending = new ArrayList<>();
        GenerationRequest withLogprobs = new GenerationRequest(request.sampling(), request.maxTokens(),
                request.stop(), request.constraint(), request.topLogprobs(), pending::add);
        GenerationResult result = model.generate(prompt, withLogprobs, piece -> {
            sse.send(events.text(choice, piece, List.copyOf(pending)));
            pending.clear();
        });
        if (!pending.isEmpty()) {
            sse.send(events.text(choice, "", List.copyOf(pending)));
        }
        sse.send(events.finish(choice, result));
        return result;
    }
}
