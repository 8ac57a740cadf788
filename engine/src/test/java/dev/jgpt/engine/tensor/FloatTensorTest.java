package dev.jgpt.engine.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every supported type: the three implementations of its arithmetic agree, and quantization is close. */
class FloatTensorTest {

    static List<GgmlType> types() {
        return Tensors.supportedTypes();
    }

    @org.junit.jupiter.api.BeforeAll
    static void reportVectorShape() {
        System.out.println("kernels: " + (Simd.ENABLED ? Simd.LANES + " float lanes" : "scalar"));
    }

    @ParameterizedTest
    @MethodSource("types")
    void dequantizeEqualsGetFloat(GgmlType type) {
        Random random = new Random(1);
        int n = type.blockSize() == 256 ? 1024 : 256;
        FloatTensor t = Tensors.quantized(type, Tensors.gaussian(random, n, 0.02f));
        float[] all = new float[n + 3];
        t.dequantize(0, all, 3, n);
        for (int i = 0; i < n; i++) {
            assertEquals(t.getFloat(i), all[3 + i], 0f, type + " element " + i);
        }
        // Ranges that start and end inside blocks go through the element-wise head and tail.
        int from = type.blockSize() / 2 + 1;
        int len = n - from - 5;
        float[] part = new float[len];
        t.dequantize(from, part, 0, len);
        for (int i = 0; i < len; i++) {
            assertEquals(all[3 + from + i], part[i], 0f, type + " partial element " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void simdDotMatchesScalarReference(GgmlType type) {
        Random random = new Random(2);
        int bs = type.blockSize() == 1 ? 32 : type.blockSize();
        int total = bs * 12;
        FloatTensor t = Tensors.quantized(type, Tensors.gaussian(random, total, 1f));
        float[] x = Tensors.gaussian(random, total + 16, 1f);
        int[] lengths = {1, 2, 3, 5, 8};
        int[] blockOffsets = {0, 1, 3};
        int[] xOffsets = {0, 7};
        for (int blocks : lengths) {
            for (int bo : blockOffsets) {
                for (int xo : xOffsets) {
                    long offset = (long) bo * bs;
                    int n = blocks * bs;
                    double magnitude = 0;
                    for (int i = 0; i < n; i++) {
                        magnitude += Math.abs((double) t.getFloat(offset + i) * x[xo + i]);
                    }
                    float expected = t.dotScalar(offset, x, xo, n);
                    float actual = t.dot(offset, x, xo, n);
                    assertEquals(expected, actual, 1e-4 * magnitude + 1e-6,
                            type + " dot of " + blocks + " blocks at block " + bo + ", x offset " + xo);
                }
            }
        }
        // Ranges that are not whole blocks are allowed too (slow path).
        if (type.blockSize() > 1) {
            assertEquals(t.dotScalar(5, x, 1, 40), t.dot(5, x, 1, 40), 1e-5f);
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void dotScalarIsTheSumOfElementProducts(GgmlType type) {
        Random random = new Random(3);
        int n = type.blockSize() == 256 ? 512 : 128;
        FloatTensor t = Tensors.quantized(type, Tensors.gaussian(random, n, 1f));
        float[] x = Tensors.gaussian(random, n, 1f);
        double sum = 0;
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) t.getFloat(i) * x[i];
            magnitude += Math.abs((double) t.getFloat(i) * x[i]);
        }
        assertEquals(sum, t.dotScalar(0, x, 0, n), 1e-6 * magnitude);
    }

    @ParameterizedTest
    @MethodSource("types")
    void quantizationRoundTripIsClose(GgmlType type) {
        Random random = new Random(4);
        int n = 8192;
        float[] v = Tensors.gaussian(random, n, 0.05f);
        FloatTensor t = Tensors.quantized(type, v);
        float[] back = new float[n];
        t.dequantize(0, back, 0, n);
        double err = 0;
        double ref = 0;
        for (int i = 0; i < n; i++) {
            err += (back[i] - v[i]) * (double) (back[i] - v[i]);
            ref += (double) v[i] * v[i];
        }
        double relRms = Math.sqrt(err / ref);
        double bound = switch (type) {
            case F32 -> 0;
            case F16 -> 5e-4;
            case BF16 -> 4e-3;
            case Q8_0 -> 0.01;
            case Q6_K -> 0.02;
            case Q5_0, Q5_1, Q5_K -> 0.05;
            case Q4_0, Q4_1, Q4_K -> 0.1;
            case Q3_K -> 0.2;
            case Q2_K -> 0.45;
            default -> throw new AssertionError(type);
        };
        System.out.printf("%s round-trip relative RMS error %.5f (bound %.4f)%n", type, relRms, bound);
        assertTrue(relRms <= bound, type + " round-trip relative RMS error " + relRms + " above " + bound);
    }

    @ParameterizedTest
    @MethodSource("types")
    void quantizerHandlesZerosAndConstants(GgmlType type) {
        int n = type.blockSize() == 256 ? 256 : 32;
        float[] zeros = new float[n];
        FloatTensor z = Tensors.quantized(type, zeros);
        for (int i = 0; i < n; i++) {
            assertEquals(0f, z.getFloat(i), 0f, type + " zero block");
        }
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, -0.5f);
        FloatTensor c = Tensors.quantized(type, ones);
        for (int i = 0; i < n; i++) {
            assertEquals(-0.5f, c.getFloat(i), 0.02f, type + " constant block");
        }
    }
}
