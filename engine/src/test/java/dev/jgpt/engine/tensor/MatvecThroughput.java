package dev.jgpt.engine.tensor;

import java.util.Random;

/**
 * Not a test: GB/s of weights read by matvec on a 4096 x 4096 matrix per type and thread count. Run with
 * the test classpath: {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes
 * dev.jgpt.engine.tensor.MatvecThroughput [types...]}.
 */
public final class MatvecThroughput {
    public static void main(String[] args) {
        int dim = 4096;
        Random random = new Random(7);
        float[] values = Tensors.gaussian(random, dim * dim, 0.02f);
        float[] x = Tensors.gaussian(random, dim, 1f);
        float[] out = new float[dim];
        String[] types = args.length > 0 ? args : new String[] {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "F16"};
        System.out.println("kernels: " + (Simd.ENABLED ? Simd.LANES + " float lanes" : "scalar"));
        for (String name : types) {
            GgmlType type = GgmlType.valueOf(name);
            FloatTensor w = Tensors.quantized(type, values);
            double bytes = w.data().byteSize();
            for (int threads = 1; threads <= 2; threads++) {
                try (MatrixOps ops = new MatrixOps(threads)) {
                    for (int i = 0; i < 200; i++) {
                        ops.matvec(w, x, 0, out, 0, dim, dim);
                    }
                    int reps = 300;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < reps; i++) {
                        ops.matvec(w, x, 0, out, 0, dim, dim);
                    }
                    double secs = (System.nanoTime() - t0) / 1e9 / reps;
                    System.out.printf("%-5s threads %d: %7.3f ms/matvec  %6.2f GB/s%n", type, threads, secs * 1e3,
                            bytes / secs / 1e9);
                }
            }
        }
    }
}
