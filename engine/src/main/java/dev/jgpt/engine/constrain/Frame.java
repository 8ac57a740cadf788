package dev.jgpt.engine.constrain;

import dev.jgpt.engine.constrain.GrammarNode.AnyOfNode;
import dev.jgpt.engine.constrain.GrammarNode.AnyValueNode;
import dev.jgpt.engine.constrain.GrammarNode.ArrayNode;
import dev.jgpt.engine.constrain.GrammarNode.FreeObjectNode;
import dev.jgpt.engine.constrain.GrammarNode.LiteralNode;
import dev.jgpt.engine.constrain.GrammarNode.NumberNode;
import dev.jgpt.engine.constrain.GrammarNode.ObjectNode;
import dev.jgpt.engine.constrain.GrammarNode.StringNode;

/**
 * One open value in the byte-level JSON automaton, immutable: {@link #step} adds the stacks a byte leads to.
 * Values that know where they end (strings, objects, arrays) pop themselves on their last byte; numbers and
 * literals that may end or go on report {@link #canEnd} and the byte is also offered to the value beneath.
 * Whitespace is limited to one space where JSON allows it, so no output can stall on blanks.
 */
sealed interface Frame {

    /** Adds to {@code out} the stacks that {@code b} (0..255) leads to from this frame over {@code rest}. */
    void step(ParseStack rest, int b, Successors out);

    /** Whether the value may end here (a following byte then belongs to the value beneath). */
    default boolean canEnd() {
        return false;
    }

    /** Fewest bytes that complete this value from here. */
    int minRemaining();

    /** Feeds one byte to a stack: its top, and the values beneath while the top may end. */
    static void feed(ParseStack stack, int b, Successors out) {
        for (ParseStack s = stack; s != null; s = s.rest()) {
            s.top().step(s.rest(), b, out);
            if (!s.top().canEnd()) {
                return;
            }
        }
    }

    /** Starts a value of {@code node} with byte {@code b}. */
    static void startValue(GrammarNode node, ParseStack rest, int b, Successors out) {
        switch (node) {
            case AnyOfNode any -> {
                for (GrammarNode alternative : any.alternatives()) {
                    startValue(alternative, rest, b, out);
                }
            }
            case ObjectNode object -> {
                if (b == '{') {
                    out.add(new ParseStack(new ObjectFrame(object, ObjectFrame.OPEN, 0, 0, 0, false), rest));
                }
            }
            case FreeObjectNode object -> {
                if (b == '{') {
                    out.add(new ParseStack(new FreeObjectFrame(object, FreeObjectFrame.OPEN, 0, false), rest));
                }
            }
            case ArrayNode array -> {
                if (b == '[') {
                    out.add(new ParseStack(new ArrayFrame(array, 0, true), rest));
                }
            }
            case StringNode string -> {
                if (b == '"') {
                    out.add(new ParseStack(StringFrame.start(string), rest));
                }
            }
            case NumberNode number -> NumberFrame.start(number, rest, b, out);
            case LiteralNode literal -> new LiteralFrame(literal, 0, literal.values.length, 0).step(rest, b, out);
            case AnyValueNode any -> {
                if (any.object() != null) {
                    startValue(any.object(), rest, b, out);
                    startValue(any.array(), rest, b, out);
                }
                startValue(any.string(), rest, b, out);
                startValue(any.number(), rest, b, out);
                startValue(any.literals(), rest, b, out);
            }
        }
    }

    /** Before a value: one optional space, then the value's first byte. */
    record ValueStart(GrammarNode node, boolean spaceUsed) implements Frame {
        @Override
        public void step(ParseStack rest, int b, Successors out) {
            if (b == ' ' && !spaceUsed) {
                out.add(new ParseStack(new ValueStart(node, true), rest));
            } else {
                startValue(node, rest, b, out);
            }
        }

        @Override
        public int minRemaining() {
            return node.minBytes();
        }
    }

    /**
     * An object with declared properties, in declaration order. {@code next} is the first property not yet
     * written; while a key is being matched, {@code candidates} holds the properties it may still be and
     * {@code pos} the bytes of it matched so far; after the key, {@code candidates} holds the one chosen.
     */
    record ObjectFrame(ObjectNode node, int phase, int next, long candidates, int pos, boolean spaceUsed)
            implements Frame {
        static final int OPEN = 0;
        static final int KEY = 1;
        static final int COLON = 2;
        static final int AFTER_VALUE = 3;
        static final int AFTER_COMMA = 4;

        @Override
        public void step(ParseStack rest, int b, Successors out) {
            switch (phase) {
                case OPEN, AFTER_COMMA -> {
                    if (b == ' ' && !spaceUsed) {
                        out.add(new ParseStack(new ObjectFrame(node, phase, next, 0, 0, true), rest));
                    } else if (b == '}' && phase == OPEN && !node.hasRequiredFrom(0)) {
                        out.add(rest);
                    } else if (b == '"') {
                        long mask = node.candidatesFrom(next);
                        if (mask != 0) {
                            out.add(new ParseStack(new ObjectFrame(node, KEY, next, mask, 1, false), rest));
                        }
                    }
                }
                case KEY -> {
                    long mask = 0;
                    int chosen = -1;
                    for (long m = candidates; m != 0; m &= m - 1) {
                        int i = Long.numberOfTrailingZeros(m);
                        byte[] key = node.keys[i];
                        if (key.length > pos && (key[pos] & 0xFF) == b) {
                            mask |= 1L << i;
                            if (key.length == pos + 1) {
                                chosen = i; // keys end with a quote, so no other key continues past it
                            }
                        }
                    }
                    if (chosen >= 0) {
                        out.add(new ParseStack(new ObjectFrame(node, COLON, next, 1L << chosen, 0, false), rest));
                    } else if (mask != 0) {
                        out.add(new ParseStack(new ObjectFrame(node, KEY, next, mask, pos + 1, false), rest));
                    }
                }
                case COLON -> {
                    if (b == ':') {
                        int chosen = Long.numberOfTrailingZeros(candidates);
                        ParseStack after = new ParseStack(new ObjectFrame(node, AFTER_VALUE, chosen + 1, 0, 0, false),
                                rest);
                        out.add(new ParseStack(new ValueStart(node.values[chosen], false), after));
                    }
                }
                case AFTER_VALUE -> {
                    if (b == ',' && node.candidatesFrom(next) != 0) {
                        out.add(new ParseStack(new ObjectFrame(node, AFTER_COMMA, next, 0, 0, false), rest));
                    } else if (b == '}' && !node.hasRequiredFrom(next)) {
                        out.add(rest);
                    }
                }
                default -> throw new IllegalStateException("object phase " + phase);
            }
        }

        @Override
        public int minRemaining() {
            return switch (phase) {
                case OPEN -> node.minBytes() - 1;
                case AFTER_VALUE -> node.tail[next];
                case AFTER_COMMA -> node.hasRequiredFrom(next) ? node.tail[next] - 1 : cheapestMember(candidatesFrom(), 0);
                case KEY -> cheapestMember(candidates, pos);
                case COLON -> {
                    int chosen = Long.numberOfTrailingZeros(candidates);
                    yield 1 + node.values[chosen].minBytes() + node.tail[chosen + 1];
                }
                default -> throw new IllegalStateException("object phase " + phase);
            };
        }

        private long candidatesFrom() {
            return node.candidatesFrom(next);
        }

        /** Fewest bytes to finish the object through one of the candidates, {@code matched} key bytes written. */
        private int cheapestMember(long mask, int matched) {
            int best = Integer.MAX_VALUE;
            for (long m = mask; m != 0; m &= m - 1) {
                int i = Long.numberOfTrailingZeros(m);
                best = Math.min(best, node.memberBytes(i) - matched + node.tail[i + 1]);
            }
            return best;
        }
    }

    /** An object with any keys; {@code members} counts those written or begun. */
    record FreeObjectFrame(FreeObjectNode node, int phase, int members, boolean spaceUsed) implements Frame {
        static final int OPEN = 0;
        static final int COLON = 1;
        static final int AFTER_VALUE = 2;
        static final int AFTER_COMMA = 3;

        @Override
        public void step(ParseStack rest, int b, Successors out) {
            switch (phase) {
                case OPEN, AFTER_COMMA -> {
                    if (b == ' ' && !spaceUsed) {
                        out.add(new ParseStack(new FreeObjectFrame(node, phase, members, true), rest));
                    } else if (b == '}' && phase == OPEN) {
                        out.add(rest);
                    } else if (b == '"') {
                        ParseStack after = new ParseStack(new FreeObjectFrame(node, COLON, members + 1, false), rest);
                        out.add(new ParseStack(StringFrame.start(node.keys()), after));
                    }
                }
                case COLON -> {
                    if (b == ':') {
                        ParseStack after = new ParseStack(new FreeObjectFrame(node, AFTER_VALUE, members, false), rest);
                        out.add(new ParseStack(new ValueStart(node.values(), false), after));
                    }
                }
                case AFTER_VALUE -> {
                    if (b == ',' && members < node.maxMembers()) {
                        out.add(new ParseStack(new FreeObjectFrame(node, AFTER_COMMA, members, false), rest));
                    } else if (b == '}') {
                        out.add(rest);
                    }
                }
                default -> throw new IllegalStateException("object phase " + phase);
            }
        }

        @Override
        public int minRemaining() {
            return switch (phase) {
                case OPEN, AFTER_VALUE -> 1;
                case COLON -> 2 + node.values().minBytes();
                case AFTER_COMMA -> 4 + node.values().minBytes();
                default -> throw new IllegalStateException("object phase " + phase);
            };
        }
    }

    /** An array; {@code open} right after '[', else {@code count} items are written. */
    record ArrayFrame(ArrayNode node, int count, boolean open) implements Frame {
        @Override
        public void step(ParseStack rest, int b, Successors out) {
            if (open) {
                if (b == ']' && node.minItems() == 0) {
                    out.add(rest);
                } else if (node.maxItems() > 0) {
                    new ValueStart(node.items(), false).step(new ParseStack(new ArrayFrame(node, 1, false), rest), b, out);
                }
            } else if (b == ',' && count < node.maxItems()) {
                ParseStack after = new ParseStack(new ArrayFrame(node, count + 1, false), rest);
                out.add(new ParseStack(new ValueStart(node.items(), false), after));
            } else if (b == ']' && count >= node.minItems()) {
                out.add(rest);
            }
        }

        @Override
        public int minRemaining() {
            if (open) {
                return node.minBytes() - 1;
            }
            int missing = Math.max(0, node.minItems() - count);
            return missing * (1 + node.items().minBytes()) + 1;
        }
    }

    /**
     * Inside a string: {@code chars} code points and {@code bytes} bytes written; {@code escape} after a
     * backslash; {@code pending} continuation bytes of a UTF-8 character still due, the next one in
     * {@code nextLow..nextHigh} (which rules out overlong forms and surrogates).
     */
    record StringFrame(StringNode node, int chars, int bytes, boolean escape, int pending, int nextLow, int nextHigh)
            implements Frame {

        static StringFrame start(StringNode node) {
            return new StringFrame(node, 0, 0, false, 0, 0, 0);
        }

        /** Whether plain text (no quote, backslash or control byte; whole characters) may simply follow. */
        boolean acceptsPlainText() {
            return !escape && pending == 0;
        }

        /** Whether {@code tokenChars} characters in {@code tokenBytes} bytes of plain text fit. */
        boolean fits(int tokenChars, int tokenBytes) {
            return chars + tokenChars <= node.maxChars() && bytes + tokenBytes <= node.maxBytes();
        }

        @Override
        public void step(ParseStack rest, int b, Successors out) {
            if (pending > 0) {
                if (b >= nextLow && b <= nextHigh) {
                    out.add(new ParseStack(new StringFrame(node, chars, bytes, false, pending - 1, 0x80, 0xBF), rest));
                }
                return;
            }
            if (escape) {
                if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
                    out.add(new ParseStack(new StringFrame(node, chars, bytes, false, 0, 0, 0), rest));
                }
                return;
            }
            if (b == '"') {
                if (chars >= node.minChars()) {
                    out.add(rest);
                }
                return;
            }
            if (b < 0x20) {
                return;
            }
            int length;
            int low = 0x80;
            int high = 0xBF;
            if (b == '\\') {
                length = 2;
            } else if (b < 0x80) {
                length = 1;
            } else if (b >= 0xC2 && b <= 0xDF) {
                length = 2;
            } else if (b >= 0xE0 && b <= 0xEF) {
                length = 3;
                low = b == 0xE0 ? 0xA0 : 0x80;
                high = b == 0xED ? 0x9F : 0xBF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                length = 4;
                low = b == 0xF0 ? 0x90 : 0x80;
                high = b == 0xF4 ? 0x8F : 0xBF;
            } else {
                return; // a continuation byte without a lead, or a byte that never occurs in UTF-8
            }
            if (!fits(1, length)) {
                return;
            }
            boolean backslash = b == '\\';
            int due = backslash ? 0 : length - 1;
            out.add(new ParseStack(new StringFrame(node, chars + 1, bytes + length, backslash, due, low, high), rest));
        }

        @Override
        public int minRemaining() {
            return (escape ? 1 : 0) + pending + Math.max(0, node.minChars() - chars) + 1;
        }
    }

    /** A number: optional minus, integer part without leading zeros, optional fraction; no exponent. */
    record NumberFrame(NumberNode node, int phase, int digits) implements Frame {
        static final int SIGN = 0;
        static final int ZERO = 1;
        static final int INTEGER = 2;
        static final int POINT = 3;
        static final int FRACTION = 4;

        static void start(NumberNode node, ParseStack rest, int b, Successors out) {
            if (b == '-') {
                out.add(new ParseStack(new NumberFrame(node, SIGN, 0), rest));
            } else if (b == '0') {
                out.add(new ParseStack(new NumberFrame(node, ZERO, 1), rest));
            } else if (b >= '1' && b <= '9') {
                out.add(new ParseStack(new NumberFrame(node, INTEGER, 1), rest));
            }
        }

        @Override
        public void step(ParseStack rest, int b, Successors out) {
            boolean digit = b >= '0' && b <= '9';
            switch (phase) {
                case SIGN -> {
                    if (digit) {
                        out.add(new ParseStack(new NumberFrame(node, b == '0' ? ZERO : INTEGER, 1), rest));
                    }
                }
                case ZERO, INTEGER -> {
                    if (digit && phase == INTEGER && digits < node.maxIntegerDigits()) {
                        out.add(new ParseStack(new NumberFrame(node, INTEGER, digits + 1), rest));
                    } else if (b == '.' && !node.integer()) {
                        out.add(new ParseStack(new NumberFrame(node, POINT, 0), rest));
                    }
                }
                case POINT, FRACTION -> {
                    if (digit && digits < node.maxFractionDigits()) {
                        out.add(new ParseStack(new NumberFrame(node, FRACTION, digits + 1), rest));
                    }
                }
                default -> throw new IllegalStateException("number phase " + phase);
            }
        }

        @Override
        public boolean canEnd() {
            return phase == ZERO || phase == INTEGER || phase == FRACTION;
        }

        @Override
        public int minRemaining() {
            return canEnd() ? 0 : 1;
        }
    }

    /** Matching one of a literal's values: those in [lo, hi) share the {@code pos} bytes written so far. */
    record LiteralFrame(LiteralNode node, int lo, int hi, int pos) implements Frame {
        @Override
        public void step(ParseStack rest, int b, Successors out) {
            byte[][] values = node.values;
            int from = -1;
            int to = -1;
            for (int i = lo; i < hi; i++) {
                byte[] v = values[i];
                if (v.length > pos && (v[pos] & 0xFF) == b) {
                    if (from < 0) {
                        from = i;
                    }
                    to = i + 1;
                }
            }
            if (from < 0) {
                return;
            }
            if (to - from == 1 && values[from].length == pos + 1) {
                out.add(rest); // the only value left is complete: nothing can follow it inside the literal
            } else {
                out.add(new ParseStack(new LiteralFrame(node, from, to, pos + 1), rest));
            }
        }

        @Override
        public boolean canEnd() {
            return node.values[lo].length == pos; // sorted: a complete value comes first
        }

        @Override
        public int minRemaining() {
            int min = Integer.MAX_VALUE;
            for (int i = lo; i < hi; i++) {
                min = Math.min(min, node.values[i].length - pos);
            }
            return min;
        }
    }
}
