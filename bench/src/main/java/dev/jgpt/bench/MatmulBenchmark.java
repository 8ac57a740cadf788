package dev.jgpt.bench;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Float-activation batch products through the public {@link MatrixOps#matmul} (the path F16 prompts take:
 * dequantized rows times the batch, from 32 tokens on with the tokens in the vector lanes), on a pool of 2
 * threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class MatmulBenchmark {
    @Param({"F16"})
    public String type;

    @Param({"512x256", "1024x1024"})
    public String shape;

    @Param({"8", "32", "128"})
    public int tokens;

    private MatrixOps ops;
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
        x = BenchTensors.gaussian(new Random(2), tokens * cols, 1f);
        out = new float[tokens * rows];
        ops = new MatrixOps(2);
    }

    @TearDown
    public void tearDown() {
        ops.close();
    }

    @Benchmark
    public float[] matmul() {
        ops.matmul(w, x, tokens, out, rows, cols);
        return out;
    }
}
