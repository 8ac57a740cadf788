package dev.jgpt.api;

import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.SchedulerStats;
import dev.jgpt.engine.generate.TokenConstraint;
import dev.jgpt.engine.generate.TokenLogprob;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A loaded model as the HTTP layer sees it: prompts become tokens, tokens become streamed text. At most
 * {@link #concurrency()} generations run at once (the {@link ServedModel} queue admits no more); a
 * batching engine decodes those together.
 */
public interface TextModel extends AutoCloseable {

    /** Tokens the model can hold: prompt and answer together. */
    int contextSize();

    int vocabularySize();

    /** The conversation rendered with the model's chat template, ready for the assistant's turn. */
    int[] chatPrompt(List<Map<String, Object>> messages);

    /**
     * The conversation with function {@code tools} (OpenAI's shape) rendered by the model's chat template.
     *
     * @throws ApiException 400 naming {@code tools} when the model cannot render tools
     */
    default int[] chatPrompt(List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        if (tools == null || tools.isEmpty()) {
            return chatPrompt(messages);
        }
        throw ApiException.unsupported("tools", "This model cannot use tools.");
    }

    /** The source of the model's chat template (empty when unknown), which tells how it writes tool calls. */
    default String chatTemplateSource() {
        return "";
    }

    /**
     * A constraint that keeps one generation's output in {@code grammar} and closes it within {@code maxTokens}.
     *
     * @throws ApiException 400 naming {@code response_format} when the model cannot constrain its output
     */
    default TokenConstraint jsonConstraint(JsonGrammar grammar, int maxTokens) {
        throw ApiException.unsupported("response_format", "This model cannot constrain its output.");
    }

    /** A plain text prompt (for /v1/completions), with the BOS token the model expects. */
    int[] textPrompt(String text);

    /**
     * Generates an answer, handing each piece of text to {@code onText} as soon as it is final. An exception
     * thrown by {@code onText} (a client that went away) ends the generation.
     */
    GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText);

    /** Generations this model runs at once (its batch slots). Wrappers must delegate it. */
    default int concurrency() {
        return 1;
    }

    /** The batching scheduler's counters (for metrics), or empty for a model without one. */
    default Optional<SchedulerStats> schedulerStats() {
        return Optional.empty();
    }

    // The methods below serve logprobs, echo, suffix and embeddings; a model without them refuses with a
    // clear error. Wrappers (such as the metrics decorator) must delegate them.

    /** The bytes token {@code id} stands for, control tokens written out (for log-probabilities). */
    default byte[] tokenBytes(int id) {
        throw ApiException.unsupported("logprobs", "This model cannot report log-probabilities.");
    }

    /**
     * Each prompt token's log-probability given the ones before it, with {@code top} alternatives: one entry
     * per token after the first.
     */
    default List<TokenLogprob> promptLogprobs(int[] prompt, int top) {
        throw ApiException.unsupported("echo", "This model cannot report the prompt's log-probabilities.");
    }

    /**
     * A fill-in-the-middle prompt asking for the text between {@code prefix} and {@code suffix}.
     *
     * @throws ApiException 400 naming {@code suffix} when the model has no fill-in-the-middle tokens
     */
    default int[] infillPrompt(String prefix, String suffix) {
        throw ApiException.invalidRequest("suffix", "This model does not support 'suffix': it has no"
                + " fill-in-the-middle tokens.");
    }

    /** Length of this model's embeddings. */
    default int embeddingSize() {
        throw ApiException.unsupported("model", "This model cannot compute embeddings.");
    }

    /** The unit-length embedding of {@code tokens} (mean of the final hidden states). */
    default float[] embed(int[] tokens) {
        throw ApiException.unsupported("model", "This model cannot compute embeddings.");
    }

    @Override
    void close();
}
