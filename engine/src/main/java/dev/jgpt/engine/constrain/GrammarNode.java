package dev.jgpt.engine.constrain;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One JSON value that the grammar allows, compiled from a schema: what may start it and how it goes on is
 * decided by {@link Frame}. Every node knows the fewest bytes that complete it, so that the constraint can
 * always close the document within the token budget.
 */
sealed interface GrammarNode {

    /** Fewest bytes of any value this node accepts. */
    int minBytes();

    /** An object with declared properties, written in declaration order; no other keys. */
    final class ObjectNode implements GrammarNode {
        final byte[][] keys;          // each key as JSON text, quotes included
        final GrammarNode[] values;
        final boolean[] required;
        /** tail[k]: fewest bytes after a member (or '{') when properties k.. remain, closing brace included. */
        final int[] tail;
        private final int minBytes;

        ObjectNode(List<String> keyJson, List<GrammarNode> values, boolean[] required) {
            int n = keyJson.size();
            this.keys = new byte[n][];
            for (int i = 0; i < n; i++) {
                keys[i] = keyJson.get(i).getBytes(StandardCharsets.UTF_8);
            }
            this.values = values.toArray(GrammarNode[]::new);
            this.required = required.clone();
            this.tail = new int[n + 1];
            tail[n] = 1;
            for (int k = n - 1; k >= 0; k--) {
                tail[k] = tail[k + 1] + (required[k] ? 1 + memberBytes(k) : 0);
            }
            // After '{' the first required member needs no comma.
            this.minBytes = 1 + (hasRequiredFrom(0) ? tail[0] - 1 : tail[0]);
        }

        int size() {
            return keys.length;
        }

        /** Bytes of member k at its shortest: key, colon, value. */
        int memberBytes(int k) {
            return keys[k].length + 1 + values[k].minBytes();
        }

        boolean hasRequiredFrom(int k) {
            for (int i = k; i < keys.length; i++) {
                if (required[i]) {
                    return true;
                }
            }
            return false;
        }

        /** Properties that may come next when properties k.. remain: up to and including the first required. */
        long candidatesFrom(int k) {
            long mask = 0;
            for (int i = k; i < keys.length; i++) {
                mask |= 1L << i;
                if (required[i]) {
                    break;
                }
            }
            return mask;
        }

        @Override
        public int minBytes() {
            return minBytes;
        }
    }

    /** Any object: free keys, values of {@code values}. */
    record FreeObjectNode(GrammarNode values, int maxMembers, StringNode keys) implements GrammarNode {
        @Override
        public int minBytes() {
            return 2;
        }
    }

    record ArrayNode(GrammarNode items, int minItems, int maxItems) implements GrammarNode {
        @Override
        public int minBytes() {
            return 2 + minItems * items.minBytes() + Math.max(0, minItems - 1);
        }
    }

    /** A string of minChars..maxChars code points and at most maxBytes bytes between the quotes. */
    record StringNode(int minChars, int maxChars, int maxBytes) implements GrammarNode {
        @Override
        public int minBytes() {
            return 2 + minChars;
        }
    }

    record NumberNode(boolean integer, int maxIntegerDigits, int maxFractionDigits) implements GrammarNode {
        @Override
        public int minBytes() {
            return 1;
        }
    }

    /** Exactly one of some JSON texts (enum, const, booleans, null), compared byte for byte. */
    final class LiteralNode implements GrammarNode {
        final byte[][] values; // sorted, unsigned lexicographic; no duplicates
        private final int minBytes;

        LiteralNode(List<String> texts) {
            values = texts.stream().distinct().map(t -> t.getBytes(StandardCharsets.UTF_8))
                    .sorted(Arrays::compareUnsigned).toArray(byte[][]::new);
            if (values.length == 0) {
                throw new IllegalArgumentException("a literal needs at least one value");
            }
            int min = Integer.MAX_VALUE;
            for (byte[] v : values) {
                min = Math.min(min, v.length);
            }
            minBytes = min;
        }

        @Override
        public int minBytes() {
            return minBytes;
        }
    }

    record AnyOfNode(List<GrammarNode> alternatives) implements GrammarNode {
        @Override
        public int minBytes() {
            int min = Integer.MAX_VALUE;
            for (GrammarNode a : alternatives) {
                min = Math.min(min, a.minBytes());
            }
            return min;
        }
    }

    /** Any JSON value; objects and arrays only while {@code object} and {@code array} are not null. */
    record AnyValueNode(FreeObjectNode object, ArrayNode array, StringNode string, NumberNode number,
                        LiteralNode literals) implements GrammarNode {
        @Override
        public int minBytes() {
            return 1;
        }
    }
}
