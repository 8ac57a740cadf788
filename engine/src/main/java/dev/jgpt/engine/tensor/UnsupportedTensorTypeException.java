package dev.jgpt.engine.tensor;

/** A tensor type that jgpt's kernels cannot compute with (e.g. the IQ quantizations). */
public final class UnsupportedTensorTypeException extends RuntimeException {
    private final GgmlType type;

    public UnsupportedTensorTypeException(GgmlType type) {
        super("tensor type " + type + " is not supported by jgpt (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
                + "Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K); re-quantize the model to one of these");
        this.type = type;
    }

    public GgmlType type() {
        return type;
    }
}
