package dev.jgpt.engine.constrain;

/**
 * Bounds that keep constrained JSON finite where a schema leaves it open: without them a string, a number or
 * a free-form object could grow until the token limit cuts it off and the output no longer parses.
 *
 * @param maxStringBytes    longest string value (UTF-8 bytes, escapes counted as written) unless the schema's
 *                          {@code maxLength} is smaller
 * @param maxKeyBytes       longest key of a free-form object
 * @param maxIntegerDigits  digits before the decimal point
 * @param maxFractionDigits digits after it
 * @param maxArrayItems     items of an array whose schema sets no {@code maxItems}
 * @param maxObjectMembers  members of a free-form object
 * @param maxFreeDepth      nesting of free-form values (json_object, schemas without a type)
 */
public record JsonLimits(int maxStringBytes, int maxKeyBytes, int maxIntegerDigits, int maxFractionDigits,
                         int maxArrayItems, int maxObjectMembers, int maxFreeDepth) {

    public JsonLimits {
        if (maxStringBytes < 1 || maxKeyBytes < 1 || maxIntegerDigits < 1 || maxFractionDigits < 1
                || maxArrayItems < 1 || maxObjectMembers < 1 || maxFreeDepth < 0) {
            throw new IllegalArgumentException("JSON limits must be positive: " + this);
        }
    }

    public static JsonLimits defaults() {
        return new JsonLimits(256, 64, 12, 6, 16, 16, 3);
    }
}
