package dev.jgpt.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * Not a test: F16 products at the shapes of a 1024-wide Llama's feed-forward matrices (2816 x 1024 and
 * 1024 x 2816). Matrix-vector products cycle through 256 MiB of copies, far beyond the 32 MiB L3, so they
 * read DRAM like decoding a real model; reported as nanoseconds of CPU time per row on one thread, and as
 * wall-clock GB/s on one and two threads. Batched products (n = 8, 128) reuse one matrix and report CPU
 * nanoseconds per row and token; arguments replace the batch sizes 8 and 128. Run with {@code java --add-modules jdk.incubator.vector
 * -cp engine/target/classes:engine/target/test-classes dev.jgpt.engine.tensor.F16Throughput}.
 */
public final class F16Throughput {
    private static final long FOOTPRINT = 256L << 20;
    private static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        Random random = new Random(3);
        int[] batches = args.length > 0
                ? java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray() : new int[] {8, 128};
        int[][] shapes = {{2816, 1024}, {1024, 2816}};
        FloatTensor[][] copies = new FloatTensor[shapes.length][];
        for (int s = 0; s < shapes.length; s++) {
            copies[s] = copies(random, shapes[s][0], shapes[s][1]);
        }
        float[] x = Tensors.gaussian(random, 128 * 2816, 1f);
        float[] out = new float[128 * 2816];
        try (MatrixOps one = new MatrixOps(1); MatrixOps two = new MatrixOps(2)) {
            for (int round = 0; round < 3; round++) {
                System.out.println("round " + round);
                for (int s = 0; s < shapes.length; s++) {
                    int rows = shapes[s][0];
                    int cols = shapes[s][1];
                    FloatTensor[] ws = copies[s];
                    double bytes = 2.0 * rows * cols;
                    int[] next = {0};
                    Runnable single = () -> one.matvec(ws[next[0]++ % ws.length], x, 0, out, 0, rows, cols);
                    double cpu = cpuNanosPerCall(single);
                    double wall1 = wallNanosPerCall(single);
                    double wall2 = wallNanosPerCall(
                            () -> two.matvec(ws[next[0]++ % ws.length], x, 0, out, 0, rows, cols));
                    System.out.printf("  %4dx%-4d n=1   %6.2f ns/row cpu  1 thread %5.1f GB/s  2 threads %5.1f GB/s%n",
                            rows, cols, cpu / rows, bytes / wall1, bytes / wall2);
                    for (int n : batches) {
                        FloatTensor w = ws[0];
                        double perCall = cpuNanosPerCall(() -> one.matmul(w, x, n, out, rows, cols));
                        System.out.printf("  %4dx%-4d n=%-3d %6.2f ns/row/token cpu  %5.1f GFLOP/s%n", rows, cols, n,
                                perCall / rows / n, 2.0 * rows * cols * n / perCall);
                    }
                }
            }
        }
    }

    /** Random F16 matrices filling {@link #FOOTPRINT}, in 64-byte-aligned native memory. */
    private static FloatTensor[] copies(Random random, int rows, int cols) {
        long elements = (long) rows * cols;
        int count = (int) Math.max(1, FOOTPRINT / (2 * elements));
        MemorySegment first = Arena.global().allocate(2 * elements, 64);
        for (long i = 0; i < elements; i++) {
            first.setAtIndex(FloatTensor.SHORT_LE, i, Float.floatToFloat16((float) random.nextGaussian() * 0.02f));
        }
        FloatTensor[] ws = new FloatTensor[count];
        for (int c = 0; c < count; c++) {
            MemorySegment seg = c == 0 ? first : Arena.global().allocate(2 * elements, 64).copyFrom(first);
            ws[c] = FloatTensor.of(GgmlType.F16, seg, elements);
        }
        return ws;
    }

    /** CPU time of this thread per call after a warm-up, over 0.5 s. */
    private static double cpuNanosPerCall(Runnable call) {
        warmUp(call);
        long t0 = System.nanoTime();
        long cpu0 = BEAN.getCurrentThreadCpuTime();
        int reps = 0;
        while (System.nanoTime() - t0 < 500_000_000L) {
            call.run();
            reps++;
        }
        return (double) (BEAN.getCurrentThreadCpuTime() - cpu0) / reps;
    }

    private static double wallNanosPerCall(Runnable call) {
        warmUp(call);
        long t0 = System.nanoTime();
        int reps = 0;
        long elapsed;
        while ((elapsed = System.nanoTime() - t0) < 500_000_000L) {
            call.run();
            reps++;
        }
        return (double) elapsed / reps;
    }

    private static void warmUp(Runnable call) {
        for (int i = 0; i < 200; i++) {
            call.run();
        }
    }
}
