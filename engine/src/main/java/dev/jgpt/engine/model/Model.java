package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufFormatException;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufTensorInfo;
import dev.jgpt.engine.template.ChatTemplate;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A loaded GGUF model: its file (kept mapped), configuration and transformer. Closing the model
 * unmaps the file.
 */
public final class Model implements AutoCloseable {
    private final GgufFile gguf;
    private final ModelConfig config;
    private final Transformer transformer;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;

    private Model(GgufFile gguf, ModelConfig config, Transformer transformer, Tokenizer tokenizer,
                  ChatTemplate chatTemplate) {
        this.gguf = gguf;
        this.config = config;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
    }

    /** Maps and checks a model file; any problem is a {@link ModelLoadException} naming it. */
    public static Model load(Path path) {
        GgufFile gguf;
        try {
            gguf = GgufReader.read(path);
        } catch (GgufFormatException e) {
            throw new ModelLoadException(e.getMessage(), e);
        }
        try {
            if (!gguf.has("general.architecture")) {
                throw new ModelLoadException(path + ": metadata 'general.architecture' is missing; is this a model "
                        + "file (and not a vocabulary-only or adapter file)?");
            }
            GgufTensorInfo embedding = gguf.tensors().get("token_embd.weight");
            if (embedding == null) {
                throw new ModelLoadException(path + ": tensor 'token_embd.weight' is missing; the file holds no model"
                        + " weights");
            }
            ModelConfig config = ModelConfig.fromGguf(gguf, Math.toIntExact(embedding.rowCount()));
            TransformerWeights weights = TransformerWeights.load(gguf, config);
            Tokenizer tokenizer;
            try {
                tokenizer = Tokenizer.fromGguf(gguf);
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException(path + ": " + e.getMessage(), e);
            }
            if (tokenizer.vocabSize() != config.vocabSize()) {
                throw new ModelLoadException(path + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the embedding has " + config.vocabSize() + " rows");
            }
            ChatTemplate template = ChatTemplate.forModel(gguf.getString("tokenizer.chat_template", null));
            return new Model(gguf, config, new Transformer(config, weights), tokenizer, template);
        } catch (GgufFormatException e) {
            gguf.close();
            throw new ModelLoadException(e.getMessage(), e);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    public GgufFile gguf() {
        return gguf;
    }

    public ModelConfig config() {
        return config;
    }

    public Transformer transformer() {
        return transformer;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The model's own chat template, or ChatML when the file has none (as llama.cpp does). */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    /**
     * The tokens of a conversation rendered with the model's chat template, ending with the prompt for
     * the assistant's answer. {@code tools} may be null.
     */
    public int[] chatPromptTokens(List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        String bos = tokenizer.bos() >= 0 ? tokenizer.tokenText(tokenizer.bos()) : "";
        String eos = tokenizer.eos() >= 0 ? tokenizer.tokenText(tokenizer.eos()) : "";
        Map<String, Object> extra = new HashMap<>();
        extra.put("bos_token", bos);
        extra.put("eos_token", eos);
        String text = chatTemplate.render(messages, tools, true, extra);
        // Templates often write the BOS token themselves; the tokenizer adds it too, so drop the written one.
        if (!bos.isEmpty() && text.startsWith(bos)) {
            text = text.substring(bos.length());
        }
        return tokenizer.encode(text, true, true);
    }

    /** The model's name from its metadata, else its file name. */
    public String name() {
        String file = gguf.path().getFileName().toString();
        return gguf.getString("general.name", file);
    }

    @Override
    public void close() {
        gguf.close();
    }
}
