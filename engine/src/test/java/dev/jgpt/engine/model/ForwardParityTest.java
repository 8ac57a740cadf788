package dev.jgpt.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.ReferenceLogits;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward pass agrees with llama.cpp (reference/logits) when fed the reference's own prompt tokens,
 * by the rules of reference/README.md: the five listed log-probabilities within 0.05 (F16/Q8_0) or 0.15
 * (4-bit), and the same top-1 wherever the reference's margin exceeds 0.1.
 */
class ForwardParityTest {

    static Stream<Path> referenceFiles() throws IOException {
        try (Stream<Path> files = Files.list(SharedData.reference("logits"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("referenceFiles")
    void agreesWithLlamaCpp(Path reference) throws IOException {
        String fileName = reference.getFileName().toString();
        String modelName = fileName.substring(0, fileName.indexOf('.'));
        JsonNode ref = new ObjectMapper().readTree(reference.toFile());
        int[] prompt = toInts(ref.get("prompt_tokens"));
        try (Model model = Model.load(SharedData.model(modelName + ".gguf"))) {
            Transformer tf = model.transformer();
            InferenceState state = tf.newState(512);
            tf.forward(state, prompt, 0, prompt.length);
            double tol = ReferenceLogits.tolerance(modelName);
            List<String> problems = new ArrayList<>();
            double maxDiff = 0;
            JsonNode steps = ref.get("steps");
            for (int step = 0; step < steps.size(); step++) {
                JsonNode top = steps.get(step).get("top");
                float[] logProbs = LogProbabilities.logSoftmax(state.logits());
                for (JsonNode entry : top) {
                    int id = entry.get(0).asInt();
                    double expected = entry.get(1).asDouble();
                    maxDiff = Math.max(maxDiff, Math.abs(logProbs[id] - expected));
                    if (Math.abs(logProbs[id] - expected) > tol) {
                        problems.add("step " + step + " token " + id + ": " + logProbs[id] + " vs " + expected);
                    }
                }
                int refTop = top.get(0).get(0).asInt();
                if (top.get(0).get(1).asDouble() - top.get(1).get(1).asDouble() > 0.1) {
                    int mine = LogProbabilities.argmax(logProbs);
                    if (mine != refTop) {
                        problems.add("step " + step + ": top-1 " + mine + " vs reference " + refTop);
                    }
                }
                tf.forward(state, new int[] {refTop}, 0, 1);
            }
            System.out.printf("%s: max |logprob difference| %.4f%n", fileName, maxDiff);
            assertTrue(problems.isEmpty(), fileName + ": " + problems.size() + " disagreements, first: "
                    + problems.subList(0, Math.min(5, problems.size())));
            assertEquals(prompt.length + steps.size(), state.position());
        }
    }

    static int[] toInts(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
