package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;

/**
 * Rounds activations to the values llama.cpp's CPU backend multiplies them as, for weight types that
 * jgpt multiplies with float activations (every type without an exact kernel such as
 * {@link Q8_0Activations}). llama.cpp converts the activations of a matrix product to the weight type's
 * "vec_dot type" first: Q8_0 blocks of 32 for the legacy quants (Q4_0, Q5_0, ...), Q8_K blocks of 256 for
 * the K-quants, F16 for F16 weights. Multiplying the dequantized values of that conversion reproduces its
 * rounding; only the order of the float additions afterwards still differs from llama.cpp's kernels.
 */
final class ActivationQuantizer {
    /** Work units ({@link MatrixOps#forRows}' multiply-adds) of rounding one value to F16. */
    private static final long ROUND_WORK = 2;

    private ActivationQuantizer() {
    }

    /**
     * {@code x[0..len)} rounded into {@code out} (returned), or {@code x} itself when the type takes float
     * activations.
     */
    static float[] roundLikeLlamaCpp(GgmlType weightType, float[] x, int len, float[] out) {
        return switch (weightType) {
            case Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 -> len % 32 == 0 ? roundQ8_0(x, len, out) : x;
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> len % 256 == 0 ? roundQ8_K(x, len, out) : x;
            case F16 -> {
                // a prompt's activations in chunks across the pool (a single token's alone)
                int chunk = LlamaCppMath.ROUND_CHUNK;
                MatrixOps.shared().forRows((len + chunk - 1) / chunk, (long) len * ROUND_WORK, (c0, c1) ->
                        LlamaCppMath.roundF16Into(x, c0 * chunk, out, c0 * chunk, Math.min(len, c1 * chunk) - c0 * chunk));
                yield out;
            }
            default -> x;
        };
    }

    /**
     * {@code quantize_row_q8_0} (AVX build), dequantized: scale {@code amax/127} stored as F16, values
     * {@code rint(x * 127/amax)}. (Q4_1/Q5_1 pair with Q8_1, whose values round the same way.)
     */
    private static float[] roundQ8_0(float[] x, int len, float[] out) {
        for (int b = 0; b < len; b += 32) {
            float amax = 0f;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[b + i]));
            }
            float d = LlamaCppMath.roundF16(amax / 127f);
            float id = amax != 0f ? 127f / amax : 0f;
            for (int i = 0; i < 32; i++) {
                out[b + i] = (float) Math.rint(x[b + i] * id) * d;
            }
        }
        return out;
    }

    /**
     * {@code quantize_row_q8_K}, dequantized: the scale comes from the value of largest magnitude (with its
     * sign), values {@code min(127, rint(x * -127/max))}, scale kept in float.
     */
    private static float[] roundQ8_K(float[] x, int len, float[] out) {
        for (int b = 0; b < len; b += 256) {
            float amax = 0f;
            float max = 0f;
            for (int i = 0; i < 256; i++) {
                float ax = Math.abs(x[b + i]);
                if (ax > amax) {
                    amax = ax;
                    max = x[b + i];
                }
            }
            if (amax == 0f) {
                java.util.Arrays.fill(out, b, b + 256, 0f); // an all-zero block stays zero
                continue;
            }
            float iscale = -127f / max;
            float d = 1f / iscale;
            for (int i = 0; i < 256; i++) {
                out[b + i] = Math.min(127, (int) Math.rint(iscale * x[b + i])) * d;
            }
        }
        return out;
    }
}
