package dev.jgpt.api;

import dev.jgpt.engine.constrain.JsonConstraint;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.BatchScheduler;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.PromptLogprobs;
import dev.jgpt.engine.generate.SchedulerStats;
import dev.jgpt.engine.generate.TokenConstraint;
import dev.jgpt.engine.generate.TokenLogprob;
import dev.jgpt.engine.model.Embedder;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.tokenizer.FillInTheMiddle;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A {@link TextModel} running on the jgpt engine: concurrent requests are decoded together by a
 * {@link BatchScheduler} (one sequence slot each, the weights read once per step for all), and a
 * conversation's next turn reuses the cache of its previous ones (the scheduler gives it the slot holding
 * the longest common prefix).
 */
final class EngineTextModel implements TextModel {
    /** Most sequences decoded together: beyond this, steps get long enough to slow every stream down. */
    static final int MAX_SLOTS = 8;
    /** Prompt tokens evaluated per step, between the running sequences' decode steps. */
    static final int PREFILL_CHUNK = 128;

    private final Model model;
    private final BatchScheduler scheduler;

    private EngineTextModel(Model model, BatchScheduler scheduler) {
        this.model = model;
        this.scheduler = scheduler;
    }

    /**
     * Loads a GGUF file with a context of at most {@code maxContext} tokens per request (the model's own if
     * smaller) and as many sequence slots (up to {@value #MAX_SLOTS}) as a key/value cache budget of a
     * quarter of the heap holds.
     */
    static EngineTextModel load(Path file, int maxContext) {
        Model model = Model.load(file);
        try {
            int context = Math.min(maxContext, model.config().contextLength());
            BatchScheduler.Config config = BatchScheduler.Config.forBudget(model.config(), context,
                    Runtime.getRuntime().maxMemory() / 4, MAX_SLOTS, MAX_SLOTS, PREFILL_CHUNK);
            return new EngineTextModel(model, new BatchScheduler(model.transformer(), model.tokenizer(), config));
        } catch (RuntimeException | OutOfMemoryError e) {
            model.close();
            throw e;
        }
    }

    @Override
    public int contextSize() {
        return scheduler.config().contextSize();
    }

    @Override
    public int concurrency() {
        return scheduler.config().slots();
    }

    @Override
    public Optional<SchedulerStats> schedulerStats() {
        return Optional.of(scheduler.stats());
    }

    @Override
    public int vocabularySize() {
        return model.tokenizer().vocabSize();
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages) {
        return model.chatPromptTokens(messages, null);
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        return model.chatPromptTokens(messages, tools == null || tools.isEmpty() ? null : tools);
    }

    @Override
    public String chatTemplateSource() {
        return model.chatTemplate().source();
    }

    @Override
    public TokenConstraint jsonConstraint(JsonGrammar grammar, int maxTokens) {
        return new JsonConstraint(grammar, model.tokenizer(), maxTokens);
    }

    @Override
    public int[] textPrompt(String text) {
        return model.tokenizer().encode(text, true, true);
    }

    @Override
    public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        return scheduler.generate(prompt, request, onText);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return model.tokenizer().tokenBytes(id, true);
    }

    @Override
    public List<TokenLogprob> promptLogprobs(int[] prompt, int top) {
        return new PromptLogprobs(model.transformer()).of(prompt, top);
    }

    @Override
    public int[] infillPrompt(String prefix, String suffix) {
        FillInTheMiddle fim = FillInTheMiddle.of(model.gguf(), model.tokenizer()).orElseThrow(() ->
                ApiException.invalidRequest("suffix", "This model does not support 'suffix': its vocabulary has no"
                        + " fill-in-the-middle tokens (prefix, suffix and middle). Use a code model trained for"
                        + " infilling, or leave 'suffix' out."));
        return fim.prompt(prefix, suffix);
    }

    @Override
    public int embeddingSize() {
        return model.config().dim();
    }

    @Override
    public float[] embed(int[] tokens) {
        return new Embedder(model.transformer()).embed(tokens);
    }

    @Override
    public void close() {
        scheduler.close();
        model.close();
    }
}
