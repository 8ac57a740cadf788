package dev.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jgpt.engine.model.InferenceState;
import dev.jgpt.engine.model.LogProbabilities;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jgpt logits}: greedy decoding with the top-k log-probabilities of each step, in the JSON format of
 * the llama.cpp reference outputs, so the two can be compared directly.
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Greedy-decode N steps and print each step's top K log-probabilities as JSON.")
final class LogitsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "GGUF model file or name")
    String model;

    @Option(names = "--prompt-file", required = true, description = "Prompt text file (UTF-8)")
    Path promptFile;

    @Option(names = "--steps", defaultValue = "24", description = "Greedy steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--top", defaultValue = "5", description = "Log-probabilities listed per step (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--ctx-size", defaultValue = "512", description = "Context size (default: ${DEFAULT-VALUE})")
    int contextSize;

    @Override
    public Integer call() throws Exception {
        if (steps < 0 || top < 1) {
            throw new CliException("--steps must be 0 or more and --top at least 1");
        }
        String text = TextFiles.readUtf8(promptFile);
        try (Model m = Model.load(ModelLocator.resolve(model))) {
            int[] prompt = m.tokenizer().encode(text, true, true);
            int ctx = Math.min(contextSize, m.config().contextLength());
            if (prompt.length == 0) {
                throw new CliException(promptFile + ": the prompt is empty");
            }
            if (prompt.length + steps > ctx) {
                throw new ContextOverflowException(prompt.length + steps, ctx);
            }
            Transformer tf = m.transformer();
            InferenceState state = tf.newState(ctx);
            tf.forward(state, prompt, 0, prompt.length);

            ObjectMapper json = new ObjectMapper();
            ObjectNode out = json.createObjectNode();
            ArrayNode promptNode = out.putArray("prompt_tokens");
            for (int t : prompt) {
                promptNode.add(t);
            }
            ArrayNode stepsNode = out.putArray("steps");
            int[] next = new int[1];
            for (int s = 0; s < steps; s++) {
                float[] logProbs = LogProbabilities.logSoftmax(state.logits());
                int[] best = LogProbabilities.topK(logProbs, top);
                ArrayNode topNode = stepsNode.addObject().putArray("top");
                for (int id : best) {
                    topNode.addArray().add(id).add(logProbs[id]);
                }
                if (s + 1 < steps) {
                    next[0] = best[0];
                    tf.forward(state, next, 0, 1);
                }
            }
            System.out.println(json.writeValueAsString(out));
        }
        return 0;
    }
}
