package dev.jgpt.api;

import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A loaded model as the HTTP layer sees it: prompts become tokens, tokens become streamed text. Calls are
 * not concurrent (the {@link ServedModel} queue serializes them); a batching engine can implement this
 * interface, or replace the queue, without the handlers changing.
 */
public interface TextModel extends AutoCloseable {

    /** Tokens the model can hold: prompt and answer together. */
    int contextSize();

    int vocabularySize();

    /** The conversation rendered with the model's chat template, ready for the assistant's turn. */
    int[] chatPrompt(List<Map<String, Object>> messages);

    /** A plain text prompt (for /v1/completions), with the BOS token the model expects. */
    int[] textPrompt(String text);

    /**
     * Generates an answer, handing each piece of text to {@code onText} as soon as it is final. An exception
     * thrown by {@code onText} (a client that went away) ends the generation.
     */
    GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText);

    @Override
    void close();
}
