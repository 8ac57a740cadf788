package dev.jgpt.engine.constrain;

import dev.jgpt.engine.generate.TokenConstraint;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Constrained decoding for one generation: only tokens that keep the output a prefix of a text the
 * {@link JsonGrammar} accepts stay allowed, and only those after which the rest can still be closed within
 * the token budget, so the output parses whenever the generation ends. Complete as soon as the JSON (and
 * the grammar's closing text) is written.
 *
 * <p>Masking walks the vocabulary in byte order through the automaton, reusing the state of each shared
 * prefix and skipping every token under a prefix the grammar rejects; inside a string, the plain-text
 * tokens (most of the vocabulary) are checked by length alone.
 */
public final class JsonConstraint implements TokenConstraint {
    private final TokenTable table;
    private final int maxTokens;
    private final Successors successors = new Successors();
    private final ParseStack[][] walk;
    private final boolean[] allowed;
    private ParseStack[] state;
    private int generated;

    /**
     * @param maxTokens the generation's token limit: the constraint closes the JSON in time for it
     */
    public JsonConstraint(JsonGrammar grammar, Tokenizer tokenizer, int maxTokens) {
        this.table = TokenTable.of(tokenizer);
        this.maxTokens = maxTokens;
        this.walk = new ParseStack[table.longest + 1][];
        this.allowed = new boolean[table.vocabSize];
        this.state = grammar.start();
    }

    @Override
    public void maskLogits(float[] logits) {
        Arrays.fill(allowed, false);
        int count;
        if (isComplete()) {
            count = 0;
            for (int id : table.endOfGeneration) {
                allowed[id] = true;
                count++;
            }
        } else {
            int budget = maxTokens - generated - 1;
            count = allow(budget);
            if (count == 0) {
                count = allow(Integer.MAX_VALUE); // the budget was too small from the start: keep the output valid
            }
        }
        if (count == 0) {
            throw new IllegalStateException("no token of the vocabulary continues the constrained output");
        }
        int n = Math.min(logits.length, allowed.length);
        for (int id = 0; id < n; id++) {
            if (!allowed[id]) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
        for (int id = n; id < logits.length; id++) {
            logits[id] = Float.NEGATIVE_INFINITY;
        }
    }

    @Override
    public void accept(int token) {
        ParseStack[] next = token >= 0 && token < table.vocabSize ? advance(state, table.bytes[token]) : null;
        if (next == null || table.bytes[token].length == 0) {
            throw new IllegalArgumentException("token " + token + " is not allowed by the constraint here");
        }
        state = next;
        generated++;
    }

    @Override
    public boolean isComplete() {
        for (ParseStack s : state) {
            if (s == null) {
                return true;
            }
        }
        return false;
    }

    /** Marks the allowed tokens whose remainder closes within {@code budget} bytes; returns how many. */
    private int allow(int budget) {
        OpenString inString = OpenString.of(state);
        if (inString != null) {
            return allowPlain(inString, budget) + allowSorted(table.special, table.specialShared, budget);
        }
        return allowSorted(table.all, table.allShared, budget);
    }

    /** Inside a string, plain tokens only lengthen it: allowed while they fit the string and the budget. */
    private int allowPlain(OpenString s, int budget) {
        int below = ParseStack.minRemaining(s.stack.rest());
        int minChars = s.frame.node().minChars() - s.frame.chars();
        int count = 0;
        int[] plain = table.plain;
        int[] chars = table.plainChars;
        for (int i = 0; i < plain.length; i++) {
            int c = chars[i];
            int b = table.bytes[plain[i]].length;
            if (s.frame.fits(c, b) && below + 1 + Math.max(0, minChars - c) <= budget) {
                allowed[plain[i]] = true;
                count++;
            }
        }
        return count;
    }

    private int allowSorted(int[] order, int[] shared, int budget) {
        ParseStack[][] at = walk;
        at[0] = state;
        int valid = 0; // at[0..valid] hold the states of the previous token's prefix
        int count = 0;
        int i = 0;
        while (i < order.length) {
            int id = order[i];
            byte[] b = table.bytes[id];
            int depth = Math.min(shared[i], valid);
            boolean dead = false;
            while (depth < b.length) {
                ParseStack[] next = step(at[depth], b[depth] & 0xFF);
                if (next == null) {
                    dead = true;
                    break;
                }
                at[++depth] = next;
            }
            valid = depth;
            i++;
            if (dead) {
                // every following token that shares these depth + 1 bytes dies the same way
                while (i < order.length && shared[i] > depth) {
                    i++;
                }
            } else if (minRemaining(at[depth]) <= budget) {
                allowed[id] = true;
                count++;
            }
        }
        return count;
    }

    private ParseStack[] advance(ParseStack[] from, byte[] bytes) {
        ParseStack[] s = from;
        for (int k = 0; k < bytes.length && s != null; k++) {
            s = step(s, bytes[k] & 0xFF);
        }
        return s;
    }

    private ParseStack[] step(ParseStack[] stacks, int b) {
        successors.clear();
        for (ParseStack s : stacks) {
            Frame.feed(s, b, successors);
        }
        return successors.toArray();
    }

    private static int minRemaining(ParseStack[] stacks) {
        int min = Integer.MAX_VALUE;
        for (ParseStack s : stacks) {
            min = Math.min(min, ParseStack.minRemaining(s));
        }
        return min;
    }

    /** The single stack whose top is a string ready for plain text, if the state is exactly that. */
    private record OpenString(ParseStack stack, Frame.StringFrame frame) {
        static OpenString of(ParseStack[] state) {
            if (state.length == 1 && state[0] != null && state[0].top() instanceof Frame.StringFrame f
                    && f.acceptsPlainText()) {
                return new OpenString(state[0], f);
            }
            return null;
        }
    }
}
