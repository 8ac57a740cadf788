package dev.jgpt.bench;

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

import java.util.concurrent.TimeUnit;

/**
 * What handing a job to the pool costs: {@link MatrixOps#forRows} on a pool of 2 threads with a task that
 * does nothing, announced as the work of a {@code rows x 256} matrix-vector product (so it is split as such
 * a product would be). A decode step of the tiny models makes about fifteen such hand-offs, one per product.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class DispatchBenchmark {
    @Param({"256", "1024", "32000"})
    public int rows;

    private MatrixOps ops;
    private final MatrixOps.RowTask empty = (from, to) -> { };

    @Setup
    public void setUp() {
        ops = new MatrixOps(2);
    }

    @TearDown
    public void tearDown() {
        ops.close();
    }

    @Benchmark
    public void emptyForRows() {
        ops.forRows(rows, (long) rows * 256, empty);
    }
}
