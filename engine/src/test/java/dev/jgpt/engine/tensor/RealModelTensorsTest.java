package dev.jgpt.engine.tensor;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tensors quantized by llama.cpp itself. The tiny-llama files share seeded weights across quantizations
 * (as do the two tiny-qwen3 files), so the same tensor read from two files must agree up to quantization
 * error: a layout mistake gives noise, not a small difference.
 */
class RealModelTensorsTest {

    private static float[] dequantized(GgufTensorInfo info) {
        FloatTensor t = FloatTensor.of(info.type(), info.data(), info.elementCount());
        float[] v = new float[Math.toIntExact(info.elementCount())];
        t.dequantize(0, v, 0, v.length);
        return v;
    }

    private static double relativeRms(float[] a, float[] reference) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < a.length; i++) {
            err += (a[i] - reference[i]) * (double) (a[i] - reference[i]);
            ref += (double) reference[i] * reference[i];
        }
        return Math.sqrt(err / ref);
    }

    /** Every tensor of {@code file} of a type in {@code types} agrees with the same tensor of {@code reference}. */
    private static Set<GgmlType> compare(String file, String reference, double bound) {
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        try (GgufFile f = GgufReader.read(SharedData.model(file));
             GgufFile r = GgufReader.read(SharedData.model(reference))) {
            for (GgufTensorInfo info : f.tensors().values()) {
                GgufTensorInfo ref = r.tensors().get(info.name());
                if (info.type() == GgmlType.F32 || ref == null) {
                    continue;
                }
                float[] a = dequantized(info);
                float[] b = dequantized(ref);
                double rel = relativeRms(a, b);
                assertTrue(rel < bound, file + " " + info + " differs from " + reference + " " + ref.type()
                        + " by relative RMS " + rel);
                seen.add(info.type());
                // Spot-check getFloat and the SIMD dot against the block dequantization on the real bytes.
                FloatTensor t = FloatTensor.of(info.type(), info.data(), info.elementCount());
                int cols = Math.toIntExact(info.rowLength());
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) {
                    x[i] = (float) Math.sin(i * 0.37);
                }
                long row = info.rowCount() / 2;
                double magnitude = 0;
                for (int i = 0; i < cols; i++) {
                    assertEquals(a[(int) (row * cols) + i], t.getFloat(row * cols + i), 0f);
                    magnitude += Math.abs(a[(int) (row * cols) + i] * x[i]);
                }
                assertEquals(t.dotScalar(row * cols, x, 0, cols), t.dot(row * cols, x, 0, cols), 1e-4 * magnitude);
            }
        }
        return seen;
    }

    @Test
    void q4_0AndQ6_KAgreeWithQ8_0() {
        Set<GgmlType> seen = compare("tiny-llama-q4_0.gguf", "tiny-llama-q8_0.gguf", 0.15);
        assertTrue(seen.contains(GgmlType.Q4_0) && seen.contains(GgmlType.Q6_K), "types seen: " + seen);
    }

    @Test
    void q4_KAndQ6_KAgreeWithQ8_0() {
        Set<GgmlType> seen = compare("tiny-llama-q4_k_m.gguf", "tiny-llama-q8_0.gguf", 0.15);
        assertTrue(seen.contains(GgmlType.Q4_K) && seen.contains(GgmlType.Q6_K), "types seen: " + seen);
    }

    @Test
    void q8_0AgreesWithF16() {
        Set<GgmlType> seen = compare("tiny-qwen3-q8_0.gguf", "tiny-qwen3-f16.gguf", 0.02);
        assertTrue(seen.contains(GgmlType.Q8_0), "types seen: " + seen);
    }

    @Test
    void weightsLookLikeTheirNormalDistributions() {
        try (GgufFile f = GgufReader.read(SharedData.model("tiny-qwen3-f16.gguf"))) {
            GgufTensorInfo info = f.tensor("blk.0.ffn_up.weight");
            assertEquals(GgmlType.F16, info.type());
            float[] v = dequantized(info);
            double sum = 0;
            double sq = 0;
            for (float x : v) {
                sum += x;
                sq += x * (double) x;
            }
            double mean = sum / v.length;
            double std = Math.sqrt(sq / v.length - mean * mean);
            assertTrue(Math.abs(mean) < 0.1 * std, "mean " + mean + " std " + std);
            assertTrue(std > 1e-3 && std < 1, "std " + std);
        }
    }
}
