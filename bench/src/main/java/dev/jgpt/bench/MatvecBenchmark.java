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
 * Float-activation matrix-vector products through the public {@link MatrixOps#matvec} (the path F16 and
 * K-quant weights take), on a pool of 2 threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class MatvecBenchmark {
    @Param({"F16", "Q4_K"})
    public String type;

    @Param({"256x256", "1024x1024"})
    public String shape;

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
        x = BenchTensors.gaussian(new Random(2), cols, 1f);
        out = new float[rows];
        ops = new MatrixOps(2);
    }

    @TearDown
    public void tearDown() {
        ops.close();
    }

    @Benchmark
    public float[] matvec() {
        ops.matvec(w, x, 0, out, 0, rows, cols);
        return out;
    }
}
