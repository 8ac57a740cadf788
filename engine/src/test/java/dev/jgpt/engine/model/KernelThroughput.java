package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;
import dev.jgpt.engine.tensor.MatrixOps;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Not a test: microseconds per product of the kernels the forward pass spends its time in, at the tiny test
 * models' shapes (32000 x 256 output matrix, 512 x 256 layer matrices), for one token and a 128-token
 * prompt; plus one flash-attention query over 256 cached cells; CPU time of the calling thread, so run
 * with {@code -Djgpt.threads=1}: {@code java --add-modules jdk.incubator.vector -cp
 * target/classes:target/test-classes dev.jgpt.engine.model.KernelThroughput}. (For the Q8_0 rows, llama.cpp's
 * own {@code ggml_vec_dot_q8_0_q8_0} on the same machine is the figure to compare: see docs/performance.md.)
 */
public final class KernelThroughput {
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("kquant")) {
            kQuantShapes(args.length > 1 ? Integer.parseInt(args[1]) : 3);
            return;
        }
        Random random = new Random(5);
        int cols = 256;
        for (int round = 0; round < 3; round++) {
            System.out.println("round " + round);
            for (int[] shape : new int[][] {{32000, 1}, {512, 1}, {512, 128}, {32000, 8}}) {
                int rows = shape[0];
                int n = shape[1];
                float[] x = gaussian(random, n * cols);
                float[] out = new float[n * rows];
                for (GgmlType type : new GgmlType[] {GgmlType.Q6_K, GgmlType.Q4_K}) {
                    FloatTensor w = kQuant(random, type, rows, cols);
                    Q8_KActivations q8k = new Q8_KActivations();
                    report(type + " " + rows + "x" + cols + " n=" + n, () -> {
                        q8k.quantize(x, n * cols);
                        q8k.matmul(w, n, out, rows, cols);
                    });
                }
                FloatTensor q8 = q8_0(random, rows, cols);
                Q8_0Activations q8x = new Q8_0Activations();
                report("Q8_0 " + rows + "x" + cols + " n=" + n, () -> {
                    q8x.quantize(x, n * cols);
                    q8x.matmul(q8, n, out, rows, cols);
                });
                FloatTensor f16 = f16(random, rows, cols);
                report("F16 " + rows + "x" + cols + " n=" + n,
                        () -> MatrixOps.shared().matmul(f16, x, n, out, rows, cols));
            }
            int headDim = 64;
            int kvDim = 128;
            FlashAttention attention = new FlashAttention(headDim, kvDim);
            float[] kc = roundedF16(gaussian(random, 512 * kvDim));
            float[] vc = roundedF16(gaussian(random, 512 * kvDim));
            float[] q = gaussian(random, headDim);
            float[] o = new float[headDim];
            report("attention 1 query x 256 cells", () -> attention.attend(q, 0, kc, vc, 64, 255, 1, 512, o, 0));
        }
    }

    /**
     * Only the Q4_K and Q6_K products, at more batch sizes ({@code kquant [rounds]} as the arguments): ns per
     * super-block and token besides the microseconds.
     */
    private static void kQuantShapes(int rounds) {
        Random random = new Random(5);
        int[][] shapes = {{32000, 256, 1}, {32000, 256, 8}, {512, 256, 1}, {512, 256, 2}, {512, 256, 3},
                {512, 256, 8}, {512, 256, 9}, {512, 256, 128}, {1024, 1024, 8}, {1024, 1024, 128}};
        for (int round = 0; round < rounds; round++) {
            System.out.println("round " + round);
            for (int[] shape : shapes) {
                int rows = shape[0];
                int cols = shape[1];
                int n = shape[2];
                float[] x = gaussian(random, n * cols);
                float[] out = new float[n * rows];
                for (GgmlType type : new GgmlType[] {GgmlType.Q6_K, GgmlType.Q4_K}) {
                    FloatTensor w = kQuant(random, type, rows, cols);
                    Q8_KActivations q8k = new Q8_KActivations();
                    double us = cpuMicrosPerCall(() -> {
                        q8k.quantize(x, n * cols);
                        q8k.matmul(w, n, out, rows, cols);
                    });
                    System.out.printf("  %-34s %10.1f us cpu %6.1f ns/sb/token%n",
                            type + " " + rows + "x" + cols + " n=" + n, us, us * 1e3 / ((double) rows * cols / 256 * n));
                }
            }
        }
    }

    /** Reports CPU time of this thread per call (steadier than wall time on a shared machine). */
    private static void report(String name, Runnable product) {
        System.out.printf("  %-34s %10.1f us cpu%n", name, cpuMicrosPerCall(product));
    }

    /** CPU time of this thread per call, in microseconds, after 50 warm-up calls, over 0.3 s. */
    static double cpuMicrosPerCall(Runnable product) {
        for (int i = 0; i < 50; i++) {
            product.run();
        }
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        long budget = 300_000_000L;
        long t0 = System.nanoTime();
        long cpu0 = bean.getCurrentThreadCpuTime();
        int reps = 0;
        while (System.nanoTime() - t0 < budget) {
            product.run();
            reps++;
        }
        long cpu = bean.getCurrentThreadCpuTime() - cpu0;
        return cpu / 1e3 / reps;
    }

    private static float[] gaussian(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    private static float[] roundedF16(float[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = LlamaCppMath.roundF16(v[i]);
        }
        return v;
    }

    /** Random K-quant blocks with every half-precision scale 0.001, in 64-byte-aligned native memory. */
    static FloatTensor kQuant(Random random, GgmlType type, int rows, int cols) {
        int blockBytes = type == GgmlType.Q4_K ? 144 : 210;
        byte[] bytes = new byte[rows * cols / 256 * blockBytes];
        random.nextBytes(bytes);
        MemorySegment seg = Arena.global().allocate(bytes.length, 64).copyFrom(MemorySegment.ofArray(bytes));
        for (long base = 0; base < bytes.length; base += blockBytes) {
            short scale = Float.floatToFloat16(0.001f);
            seg.set(SHORT_LE, type == GgmlType.Q4_K ? base : base + 208, scale);
            if (type == GgmlType.Q4_K) {
                seg.set(SHORT_LE, base + 2, scale);
            }
        }
        return FloatTensor.of(type, seg, (long) rows * cols);
    }

    /** Random Q8_0 blocks (scales 0.001-0.011), in 64-byte-aligned native memory. */
    private static FloatTensor q8_0(Random random, int rows, int cols) {
        long blocks = (long) rows * cols / 32;
        MemorySegment seg = Arena.global().allocate(blocks * 34, 64);
        byte[] values = new byte[32];
        for (long b = 0; b < blocks; b++) {
            seg.set(SHORT_LE, b * 34, Float.floatToFloat16(0.001f + random.nextFloat() * 0.01f));
            random.nextBytes(values);
            MemorySegment.copy(MemorySegment.ofArray(values), 0, seg, b * 34 + 2, 32);
        }
        return FloatTensor.of(GgmlType.Q8_0, seg, (long) rows * cols);
    }

    private static FloatTensor f16(Random random, int rows, int cols) {
        // native memory, as the memory-mapped model files are
        MemorySegment seg = Arena.global().allocate((long) rows * cols * 2, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.set(SHORT_LE, 2 * i, Float.floatToFloat16((float) random.nextGaussian() * 0.02f));
        }
        return FloatTensor.of(GgmlType.F16, seg, (long) rows * cols);
    }
}
