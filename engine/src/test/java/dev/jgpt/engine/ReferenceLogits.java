package dev.jgpt.engine;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The agreement rules of reference/README.md, applied to an output in the reference's own JSON format
 * ({@code prompt_tokens}, {@code steps[].top[[id, logprob]...]}): same prompt tokens; the reference's listed
 * log-probabilities matched within the tolerance (0.05 for F16/Q8_0, 0.15 for 4-bit models); the same top-1
 * wherever the reference's top-1 beats its top-2 by more than 0.1. For a free-running decode (the {@code logits}
 * command) the comparison ends where its greedy path leaves the reference's at a near-tie; teacher-forced
 * checks of every step are in the engine's ForwardParityTest.
 */
public final class ReferenceLogits {
    private ReferenceLogits() {
    }

    public static double tolerance(String modelName) {
        return modelName.contains("q4") ? 0.15 : 0.05;
    }

    /** Lists every disagreement; empty when the output agrees. */
    public static List<String> disagreements(JsonNode reference, JsonNode actual, double tolerance) {
        List<String> problems = new ArrayList<>();
        if (!reference.get("prompt_tokens").equals(actual.get("prompt_tokens"))) {
            problems.add("prompt tokens differ: expected " + reference.get("prompt_tokens") + " got "
                    + actual.get("prompt_tokens"));
            return problems;
        }
        JsonNode refSteps = reference.get("steps");
        boolean followsReferencePath = true;
        JsonNode steps = actual.get("steps");
        if (steps == null || steps.size() != refSteps.size()) {
            problems.add("expected " + refSteps.size() + " steps, got " + (steps == null ? 0 : steps.size()));
            return problems;
        }
        for (int s = 0; s < refSteps.size(); s++) {
            JsonNode refTop = refSteps.get(s).get("top");
            JsonNode top = steps.get(s).get("top");
            if (s > 0 && !followsReferencePath) {
                break;
            }
            Map<Integer, Double> mine = new HashMap<>();
            for (JsonNode e : top) {
                mine.put(e.get(0).asInt(), e.get(1).asDouble());
            }
            for (JsonNode e : refTop) {
                int id = e.get(0).asInt();
                Double got = mine.get(id);
                if (got == null) {
                    problems.add("step " + s + ": token " + id + " is not in the output's top list");
                } else if (Math.abs(got - e.get(1).asDouble()) > tolerance) {
                    problems.add("step " + s + ": token " + id + " log-prob " + got + " vs " + e.get(1).asDouble());
                }
            }
            boolean sameTop = top.get(0).get(0).asInt() == refTop.get(0).get(0).asInt();
            if (refTop.get(0).get(1).asDouble() - refTop.get(1).get(1).asDouble() > 0.1 && !sameTop) {
                problems.add("step " + s + ": top-1 " + top.get(0).get(0).asInt() + " vs "
                        + refTop.get(0).get(0).asInt());
            }
            // A free-running greedy decode leaves the reference's path only at a near-tie (the rule above
            // catches any other); the steps after it are conditioned on other tokens and not comparable.
            followsReferencePath = sameTop;
        }
        return problems;
    }
}
