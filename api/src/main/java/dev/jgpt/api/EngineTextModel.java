package dev.jgpt.api;

import dev.jgpt.engine.constrain.JsonConstraint;
import dev.jgpt.engine.constrain.JsonGrammar;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.TokenConstraint;
import dev.jgpt.engine.generate.Generator;
import dev.jgpt.engine.generate.PromptLogprobs;
import dev.jgpt.engine.generate.TokenLogprob;
import dev.jgpt.engine.model.Embedder;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.tokenizer.FillInTheMiddle;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A {@link TextModel} running on the jgpt engine with one sequence: requests take turns on it, and a
 * conversation's next turn reuses the cache of its previous ones (the generator keeps the common prefix).
 */
final class EngineTextModel implements TextModel {
    private final Model model;
    private final Generator generator;
    private final Generator.Sequence sequence;

    private EngineTextModel(Model model, Generator generator, Generator.Sequence sequence) {
        this.model = model;
        this.generator = generator;
        this.sequence = sequence;
    }

    /** Loads a GGUF file with a context of at most {@code maxContext} tokens (the model's own if smaller). */
    static EngineTextModel load(Path file, int maxContext) {
        Model model = Model.load(file);
        try {
            int context = Math.min(maxContext, model.config().contextLength());
            Generator generator = new Generator(model.transformer(), model.tokenizer());
            return new EngineTextModel(model, generator, generator.newSequence(context));
        } catch (RuntimeException | OutOfMemoryError e) {
            model.close();
            throw e;
        }
    }

    @Override
    public int contextSize() {
        return sequence.contextSize();
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
        return generator.generate(sequence, prompt, request, onText);
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
        model.close();
    }
}
