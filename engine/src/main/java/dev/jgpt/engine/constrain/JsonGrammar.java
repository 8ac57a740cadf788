package dev.jgpt.engine.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgpt.engine.constrain.GrammarNode.AnyOfNode;
import dev.jgpt.engine.constrain.GrammarNode.FreeObjectNode;
import dev.jgpt.engine.constrain.GrammarNode.LiteralNode;
import dev.jgpt.engine.constrain.GrammarNode.ObjectNode;

import java.util.List;

/**
 * The outputs a constrained generation may produce: one JSON object (any object, or one that validates
 * against a JSON Schema), optionally between fixed text such as {@code <tool_call>\n ... \n</tool_call>}.
 * Immutable; {@link JsonConstraint} runs it for one generation.
 */
public final class JsonGrammar {
    private final GrammarNode root;
    private final String prefix;
    private final String suffix;

    private JsonGrammar(GrammarNode root, String prefix, String suffix) {
        this.root = root;
        this.prefix = prefix;
        this.suffix = suffix;
    }

    /** Any JSON object (OpenAI's {@code response_format: {type: json_object}}). */
    public static JsonGrammar anyObject(JsonLimits limits) {
        return new JsonGrammar(JsonSchemaCompiler.anyObject(limits), "", "");
    }

    /**
     * Objects that validate against {@code schema}, which must describe an object (or anyOf objects).
     *
     * @param strict write every declared property, as OpenAI's strict mode requires
     * @throws UnsupportedSchemaException naming the keyword when the schema uses what is not supported
     */
    public static JsonGrammar fromSchema(JsonNode schema, boolean strict, JsonLimits limits) {
        GrammarNode root = new JsonSchemaCompiler(schema, strict, limits).compile();
        requireObject(root);
        return new JsonGrammar(root, "", "");
    }

    /** The same grammar with fixed text before and after the JSON (no whitespace allowed around it). */
    public JsonGrammar between(String before, String after) {
        return new JsonGrammar(root, before, after);
    }

    /** The stacks a generation starts from. */
    ParseStack[] start() {
        ParseStack stack = null;
        if (!suffix.isEmpty()) {
            stack = new ParseStack(literalFrame(suffix), null);
        }
        stack = new ParseStack(new Frame.ValueStart(root, true), stack); // no space before the object
        if (!prefix.isEmpty()) {
            stack = new ParseStack(literalFrame(prefix), stack);
        }
        return new ParseStack[] {stack};
    }

    private static Frame literalFrame(String text) {
        return new Frame.LiteralFrame(new LiteralNode(List.of(text)), 0, 1, 0);
    }

    private static void requireObject(GrammarNode node) {
        switch (node) {
            case ObjectNode o -> { }
            case FreeObjectNode o -> { }
            case AnyOfNode any -> any.alternatives().forEach(JsonGrammar::requireObject);
            default -> throw new UnsupportedSchemaException("type", "$",
                    "the schema's root must be an object ('type': 'object'), or 'anyOf' objects");
        }
    }
}
