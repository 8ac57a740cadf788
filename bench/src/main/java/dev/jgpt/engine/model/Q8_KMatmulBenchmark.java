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
 * Q4_K and Q6_K weights times Q8_K-quantized activations, the kernels of the q4_k_m models: quantizing
 * {@code n} activation rows, then the product. {@code n = 1} is a decode step (the fused one-token kernels),
 * 4 and 8 a small batch (Q4_K: one-token kernels in llama.cpp's gemm order, and one 16-lane group with
 * empty lanes), 16 and 128 prompt batches (16 tokens in the lanes of a vector, four rows per activation
 * load). In the engine's package because {@link Q8_KActivations} is package-private there.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class Q8_KMatmulBenchmark {
    @Param({"Q4_K", "Q6_K"})
    public String type;

    @Param({"512x256", "32000x256", "2816x1024"})
    public String shape;

    @Param({"1", "4", "8", "16", "128"})
    public int n;

    private final Q8_KActivations activations = new Q8_KActivations();
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
        w = BenchTensors.weights(GgmlType.valueOf(type), rows, cols, 1);
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
