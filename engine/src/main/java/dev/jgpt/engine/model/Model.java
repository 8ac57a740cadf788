package dev.jgpt.engine.model;

import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufFormatException;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufTensorInfo;

import java.nio.file.Path;

/**
 * A loaded GGUF model: its file (kept mapped), configuration and transformer. Closing the model
 * unmaps the file.
 */
public final class Model implements AutoCloseable {
    private final GgufFile gguf;
    private final ModelConfig config;
    private final Transformer transformer;

    private Model(GgufFile gguf, ModelConfig config, Transformer transformer) {
        this.gguf = gguf;
        this.config = config;
        this.transformer = transformer;
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
            return new Model(gguf, config, new Transformer(config, weights));
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
