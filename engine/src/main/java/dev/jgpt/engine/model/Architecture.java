package dev.jgpt.engine.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The transformer families jgpt runs, as data: each names its GGUF architecture string, how it applies
 * rotary embeddings, and which optional tensors it has. Mistral, SmolLM2 and TinyLlama use {@code llama}.
 */
public enum Architecture {
    LLAMA("llama", RopeType.NORMAL, false, false),
    QWEN2("qwen2", RopeType.NEOX, true, false),
    QWEN3("qwen3", RopeType.NEOX, false, true);

    /** How rotary embeddings pair the dimensions of a head. */
    public enum RopeType {
        /** Adjacent pairs (2i, 2i+1): llama.cpp's LLAMA_ROPE_TYPE_NORM. */
        NORMAL,
        /** Halves (i, i + d/2): GPT-NeoX style, used by Qwen. */
        NEOX
    }

    private final String ggufName;
    private final RopeType ropeType;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String ggufName, RopeType ropeType, boolean qkvBias, boolean qkNorm) {
        this.ggufName = ggufName;
        this.ropeType = ropeType;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new ModelLoadException("model architecture '" + name + "' is not supported (jgpt runs: "
                + Arrays.stream(values()).map(Architecture::ggufName).collect(Collectors.joining(", ")) + ")");
    }

    public String ggufName() {
        return ggufName;
    }

    public RopeType ropeType() {
        return ropeType;
    }

    /** Whether Q/K/V projections carry biases (Qwen2). */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether queries and keys get a per-head RMSNorm before RoPE (Qwen3). */
    public boolean qkNorm() {
        return qkNorm;
    }
}
