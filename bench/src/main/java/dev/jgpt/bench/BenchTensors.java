package dev.jgpt.bench;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.Quantizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Benchmark inputs: random weights quantized to a type and placed in native memory like a mapped GGUF file. */
public final class BenchTensors {
    private BenchTensors() {
    }

    /** A {@code rows x cols} tensor of {@code type} with Gaussian weights (std 0.02, as in trained models). */
    public static FloatTensor weights(GgmlType type, int rows, int cols, long seed) {
        float[] values = gaussian(new Random(seed), rows * cols, 0.02f);
        byte[] bytes = Quantizer.quantize(type, values);
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return FloatTensor.of(type, seg, values.length);
    }

    /** {@code n} Gaussian floats of standard deviation {@code std}. */
    public static float[] gaussian(Random random, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * std;
        }
        return v;
    }

    /** Parses a shape parameter "ROWSxCOLS" into {rows, cols}. */
    public static int[] shape(String rowsByCols) {
        int x = rowsByCols.indexOf('x');
        return new int[] {Integer.parseInt(rowsByCols.substring(0, x)), Integer.parseInt(rowsByCols.substring(x + 1))};
    }
}
