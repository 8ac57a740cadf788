package dev.jgpt.engine.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.generate.FinishReason;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;
import dev.jgpt.engine.generate.Generator;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.sampling.SamplingParams;
import dev.jgpt.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Drives the constraint with random choices among the allowed tokens of real vocabularies (SentencePiece and
 * byte-level BPE) — the hardest "model" for a constraint — and checks every output with a JSON Schema
 * validator.
 */
class JsonConstraintTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static final List<String> SCHEMAS_UNDER_TEST = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},
             "required":["name","age"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"ok":{"type":"boolean"},"score":{"type":"number"},
             "note":{"type":["string","null"],"maxLength":12}},"required":["ok","score","note"]}""",
            """
            {"type":"object","properties":{"color":{"enum":["red","green","blue",7,null]},
             "kind":{"const":"fixed"}},"required":["color","kind"]}""",
            """
            {"type":"object","properties":{"tags":{"type":"array","items":{"type":"string","maxLength":8},
             "minItems":1,"maxItems":3}},"required":["tags"]}""",
            """
            {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
             "required":["b"]}""",
            """
            {"type":"object","properties":{"point":{"type":"object","properties":{"x":{"type":"number"},
             "y":{"type":"number"}},"required":["x","y"],"additionalProperties":false},
             "label":{"anyOf":[{"type":"string","minLength":2,"maxLength":5},{"type":"integer"}]}},
             "required":["point","label"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"matrix":{"type":"array","items":{"type":"array",
             "items":{"type":"integer"},"maxItems":3},"maxItems":3},"empty":{"type":"object",
             "additionalProperties":false}},"required":["matrix","empty"]}""",
            """
            {"$defs":{"item":{"type":"object","properties":{"id":{"type":"integer"},"q":{"type":"null"}},
             "required":["id","q"]}},"type":"object","properties":{"items":{"type":"array",
             "items":{"$ref":"#/$defs/item"},"maxItems":2}},"required":["items"]}""",
            """
            {"type":"object","properties":{"free":{"type":"object"},"any":{}},"required":["free","any"]}""",
            """
            {"type":"object","properties":{"ünïcødé key \\"q\\"":{"type":"string","minLength":3,"maxLength":6}},
             "required":["ünïcødé key \\"q\\""]}""");

    static Model qwen;
    static Model llama3;

    @BeforeAll
    static void load() {
        qwen = Model.load(SharedData.model("tiny-qwen3-q8_0.gguf"));
        llama3 = Model.load(SharedData.model("tiny-llama3-q4_0.gguf"));
    }

    @AfterAll
    static void close() {
        qwen.close();
        llama3.close();
    }

    /** Generates with random allowed tokens until complete; fails if the constraint never completes. */
    static String randomOutput(JsonGrammar grammar, Tokenizer tokenizer, int maxTokens, Random random) {
        JsonConstraint constraint = new JsonConstraint(grammar, tokenizer, maxTokens);
        float[] logits = new float[tokenizer.vocabSize()];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int step = 0; step < maxTokens && !constraint.isComplete(); step++) {
            java.util.Arrays.fill(logits, 0f);
            constraint.maskLogits(logits);
            List<Integer> allowed = new ArrayList<>();
            for (int id = 0; id < logits.length; id++) {
                if (logits[id] == 0f) {
                    allowed.add(id);
                }
            }
            assertFalse(allowed.isEmpty());
            int token = allowed.get(random.nextInt(allowed.size()));
            assertFalse(tokenizer.isEndOfGeneration(token), "no end token before the JSON is complete");
            constraint.accept(token);
            out.writeBytes(tokenizer.tokenBytes(token, false));
        }
        assertTrue(constraint.isComplete(), "complete within " + maxTokens + " tokens: " + out);
        return out.toString(StandardCharsets.UTF_8);
    }

    static void assertValid(String schema, String output) throws Exception {
        Schema validator = SCHEMAS.getSchema(schema, InputFormat.JSON);
        JsonNode parsed = JSON.readTree(output); // must parse
        assertTrue(parsed.isObject(), output);
        var errors = validator.validate(output, InputFormat.JSON);
        assertTrue(errors.isEmpty(), () -> errors + " in " + output + " for " + schema);
    }

    @Test
    void randomTokensAlwaysGiveSchemaValidOutputOnBothVocabularies() throws Exception {
        Random random = new Random(42);
        for (Model model : List.of(qwen, llama3)) {
            for (String schema : SCHEMAS_UNDER_TEST) {
                for (boolean strict : List.of(true, false)) {
                    JsonGrammar grammar = JsonGrammar.fromSchema(JSON.readTree(schema), strict, JsonLimits.defaults());
                    String out = randomOutput(grammar, model.tokenizer(), 400, random);
                    assertValid(schema, out);
                }
            }
        }
    }

    @Test
    void anyObjectIsAnObjectAndClosesWithinATightBudget() throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < 10; i++) {
            String out = randomOutput(JsonGrammar.anyObject(JsonLimits.defaults()), qwen.tokenizer(), 60, random);
            assertTrue(JSON.readTree(out).isObject(), out);
        }
    }

    @Test
    void theGeneratorEndsConstrainedOutputAsSoonAsItClosesAndWithinMaxTokens() throws Exception {
        Generator generator = new Generator(qwen.transformer(), qwen.tokenizer());
        int[] prompt = qwen.tokenizer().encode("Answer in JSON:", true, true);
        String schema = SCHEMAS_UNDER_TEST.get(0);
        for (int maxTokens : new int[] {19, 25, 40}) { // {"name":"","age":0} is 19 bytes
            for (long seed = 0; seed < 3; seed++) {
                JsonGrammar grammar = JsonGrammar.fromSchema(JSON.readTree(schema), true, JsonLimits.defaults());
                GenerationResult r = generator.generate(generator.newSequence(256), prompt, new GenerationRequest(
                        SamplingParams.defaults().withSeed(seed), maxTokens, List.of(),
                        new JsonConstraint(grammar, qwen.tokenizer(), maxTokens), -1), piece -> { });
                assertEquals(FinishReason.STOP, r.finishReason(), r.text());
                assertTrue(r.completionTokens() <= maxTokens);
                assertValid(schema, r.text());
            }
        }
    }

    @Test
    void textAroundTheJsonIsWrittenExactly() throws Exception {
        String schema = """
                {"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object",
                 "properties":{"city":{"type":"string","maxLength":10}},"required":["city"]}},
                 "required":["name","arguments"]}""";
        JsonGrammar grammar = JsonGrammar.fromSchema(JSON.readTree(schema), true, JsonLimits.defaults())
                .between("<tool_call>\n", "\n</tool_call>");
        String out = randomOutput(grammar, llama3.tokenizer(), 100, new Random(3));
        assertTrue(out.startsWith("<tool_call>\n{\"name\":\"get_weather\""), out);
        assertTrue(out.endsWith("}\n</tool_call>"), out);
        assertValid(schema, out.substring("<tool_call>\n".length(), out.length() - "\n</tool_call>".length()));
    }

    @Test
    void everyAllowedTokenContinuesTheOutputAndNoOtherDoes() {
        Tokenizer tokenizer = llama3.tokenizer();
        String schema = "{\"type\":\"object\",\"properties\":{\"flag\":{\"type\":\"boolean\"}},\"required\":[\"flag\"]}";
        JsonConstraint constraint;
        try {
            constraint = new JsonConstraint(JsonGrammar.fromSchema(JSON.readTree(schema), true, JsonLimits.defaults()),
                    tokenizer, 50);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        for (int id : tokenizer.encode("{\"flag\":", false, false)) {
            constraint.accept(id);
        }
        float[] logits = new float[tokenizer.vocabSize()];
        constraint.maskLogits(logits);
        List<String> allowed = new ArrayList<>();
        for (int id = 0; id < logits.length; id++) {
            if (logits[id] == 0f) {
                allowed.add(new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8));
            }
        }
        for (String text : allowed) {
            assertTrue(("true}".startsWith(text) || "false}".startsWith(text) || " true}".startsWith(text)
                    || " false}".startsWith(text)) && !text.isEmpty(), "allowed: '" + text + "'");
        }
        assertTrue(allowed.contains("true") && allowed.contains(" false") && allowed.contains("t"), allowed.toString());
    }

    @Test
    void unsupportedKeywordsAreRejectedByName() throws Exception {
        var e = assertThrows(UnsupportedSchemaException.class, () -> JsonGrammar.fromSchema(JSON.readTree(
                "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\",\"pattern\":\"^a+$\"}}}"), true,
                JsonLimits.defaults()));
        assertEquals("pattern", e.keyword());
        assertEquals("$.properties.s", e.path());
        assertTrue(e.getMessage().contains("'pattern'"), e.getMessage());
        var root = assertThrows(UnsupportedSchemaException.class, () -> JsonGrammar.fromSchema(JSON.readTree(
                "{\"type\":\"string\"}"), true, JsonLimits.defaults()));
        assertEquals("type", root.keyword());
        var ref = assertThrows(UnsupportedSchemaException.class, () -> JsonGrammar.fromSchema(JSON.readTree(
                "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/n\"}}}},"
                        + "\"$ref\":\"#/$defs/n\"}"), true, JsonLimits.defaults()));
        assertEquals("$ref", ref.keyword());
    }

    @Test
    void maskingTheLargestVocabularyIsFast() throws Exception {
        Tokenizer tokenizer = llama3.tokenizer();
        JsonGrammar grammar = JsonGrammar.fromSchema(JSON.readTree(SCHEMAS_UNDER_TEST.get(5)), true,
                JsonLimits.defaults());
        randomOutput(grammar, tokenizer, 400, new Random(1)); // warm up
        JsonConstraint constraint = new JsonConstraint(JsonGrammar.anyObject(JsonLimits.defaults()), tokenizer, 1000);
        for (int id : tokenizer.encode("{\"text\":\"", false, false)) {
            constraint.accept(id); // inside a string nearly every token is allowed: the widest mask
        }
        float[] logits = new float[tokenizer.vocabSize()];
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long t0 = System.nanoTime();
            constraint.maskLogits(logits);
            best = Math.min(best, System.nanoTime() - t0);
        }
        assertTrue(best < 20_000_000, "masking 128k tokens took " + best / 1e6 + " ms");
    }
}
