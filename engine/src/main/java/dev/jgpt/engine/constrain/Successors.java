package dev.jgpt.engine.constrain;

import java.util.Arrays;

/** The stacks one byte leads to (a nondeterministic step: anyOf, enum prefixes, numbers that may end). */
final class Successors {
    private ParseStack[] stacks = new ParseStack[4];
    private int size;

    void add(ParseStack stack) {
        if (size == stacks.length) {
            stacks = Arrays.copyOf(stacks, size * 2);
        }
        stacks[size++] = stack;
    }

    void clear() {
        size = 0;
    }

    int size() {
        return size;
    }

    /** The collected stacks as a new array, or null when there are none. */
    ParseStack[] toArray() {
        return size == 0 ? null : Arrays.copyOf(stacks, size);
    }
}
