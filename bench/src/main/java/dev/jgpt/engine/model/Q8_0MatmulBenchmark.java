package dev.jgpt.engine.model;

import dev.jgpt.bench.BenchTensors;
import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Q8_0 weights times Q8_0-quantized activations, the kernel behind every product of the q8_0 models:
 * quantizing {@code n} activation rows, then the product ({@code n = 1} is a decode step, larger n a
 * prompt batch). It lives in the engine's package because {@link Q8_0Activations} is package-private there.
 * The shared pool runs it ({@code -Djgpt.threads}, default one thread per processor).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class Q8_0MatmulBenchmark {
    @Param({"256x256", "512x256", "32000x256", "1024x1024", "1024x2816"})
    public String shape;

    @Param({"1", "8", "64"})
    public int n;

    private final Q8_0Activations activations = new Q8_0Activations();
    private FloatTensor w;
    private float[] x;
    private float[] out;
    private int rows;
    private int cols;

    @Setup
    public void setUp() {
        int[] s = BenchTensors.shape(shape);
        rows = s[0];
        cols = s[1];
        w = BenchTensors.weights(GgmlType.Q8_0, rows, cols, 1);
        x = BenchTensors.gaussian(new Random(2), n * cols, 1f);
        out = new float[n * rows];
    }

    @Benchmark
    public float[] quantizeAndMultiply() {
        activations.quantize(x, n * cols);
        activations.matmul(w, n, out, rows, cols);
        return out;
    }
}
