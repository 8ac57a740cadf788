package dev.jgpt.engine.model;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;

/**
 * Not a test: prompt (128 tokens) and generation (64 tokens) speed of the forward pass in tokens per CPU
 * second of the calling thread, which stays steady when other processes share the machine (wall-clock
 * figures such as {@code jgpt bench} swing several-fold then). Run single-threaded with the test
 * classpath: {@code java --add-modules jdk.incubator.vector -Djgpt.threads=1 -cp
 * target/classes:target/test-classes:<dependencies> dev.jgpt.engine.model.ForwardCpuThroughput FILE.gguf}.
 */
public final class ForwardCpuThroughput {
    public static void main(String[] args) {
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        try (Model model = Model.load(Path.of(args[0]))) {
            Transformer tf = model.transformer();
            int[] prompt = new int[128];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 100 + 7 * i;
            }
            int[] one = new int[1];
            for (int round = 0; round < 6; round++) {
                InferenceState s = tf.newState(512);
                long c0 = bean.getCurrentThreadCpuTime();
                tf.forward(s, prompt, 0, prompt.length);
                long c1 = bean.getCurrentThreadCpuTime();
                for (int i = 0; i < 64; i++) {
                    one[0] = 200 + i;
                    tf.forward(s, one, 0, 1);
                }
                long c2 = bean.getCurrentThreadCpuTime();
                if (round >= 2) { // the first rounds warm the JIT up
                    System.out.printf("pp %.0f tokens/cpu-s  tg %.0f tokens/cpu-s%n",
                            prompt.length / ((c1 - c0) / 1e9), 64 / ((c2 - c1) / 1e9));
                }
            }
        }
    }
}
