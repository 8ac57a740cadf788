package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.GgmlType;

import java.util.Random;

/**
 * Not a test: nanoseconds of one thread's CPU time per 256-value super-block of the one-token Q4_K and
 * Q6_K products at the bench model's shapes (n_embd 1024, n_ff 2816, 32000-token vocabulary), once with
 * the weights in cache (one matrix, again and again) and once from DRAM (cycling over copies holding more
 * than twice the 32 MB L3): {@code java --add-modules jdk.incubator.vector -Djgpt.threads=1 -cp
 * target/classes:target/test-classes dev.jgpt.engine.model.KQuantDecodeThroughput [Q4_K|Q6_K]}.
 */
public final class KQuantDecodeThroughput {
    private static final long DRAM_BYTES = 72L << 20;

    public static void main(String[] args) {
        Random random = new Random(7);
        Object[][] shapes = {
                {GgmlType.Q4_K, 1024, 1024}, {GgmlType.Q4_K, 2816, 1024}, {GgmlType.Q4_K, 1024, 2816},
                {GgmlType.Q6_K, 1024, 1024}, {GgmlType.Q6_K, 1024, 2816}, {GgmlType.Q6_K, 32000, 1024}};
        for (int round = 0; round < 3; round++) {
            System.out.println("round " + round);
            for (Object[] shape : shapes) {
                GgmlType type = (GgmlType) shape[0];
                if (args.length > 0 && !type.name().equals(args[0])) {
                    continue;
                }
                int rows = (int) shape[1];
                int cols = (int) shape[2];
                long bytes = (long) rows * cols / 256 * (type == GgmlType.Q4_K ? 144 : 210);
                int copies = (int) Math.max(2, (DRAM_BYTES + bytes - 1) / bytes);
                FloatTensor[] w = new FloatTensor[copies];
                for (int i = 0; i < copies; i++) {
                    w[i] = KernelThroughput.kQuant(random, type, rows, cols);
                }
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                float[] out = new float[rows];
                Q8_KActivations q8k = new Q8_KActivations();
                q8k.quantize(x, cols);
                double blocks = (double) rows * cols / 256;
                double cached = KernelThroughput.cpuMicrosPerCall(() -> q8k.matmul(w[0], 1, out, rows, cols));
                int[] next = {0};
                double dram = KernelThroughput.cpuMicrosPerCall(() -> {
                    q8k.matmul(w[next[0]], 1, out, rows, cols);
                    next[0] = (next[0] + 1) % copies;
                });
                System.out.printf("  %s %5dx%-5d  cached %6.2f ns/block (%8.1f us)   DRAM %6.2f ns/block (%8.1f us)%n",
                        type, rows, cols, cached * 1e3 / blocks, cached, dram * 1e3 / blocks, dram);
            }
        }
    }
}
