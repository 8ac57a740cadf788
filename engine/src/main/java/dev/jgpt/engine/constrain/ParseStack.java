package dev.jgpt.engine.constrain;

/**
 * A persistent stack of {@link Frame}s: the innermost open value on top. Stacks share their tails, so a
 * step that changes the top costs one small object; {@code null} is the empty stack (the document is done).
 */
record ParseStack(Frame top, ParseStack rest) {

    /** Fewest bytes that close every open value of {@code stack}. */
    static int minRemaining(ParseStack stack) {
        int sum = 0;
        for (ParseStack s = stack; s != null; s = s.rest) {
            sum += s.top.minRemaining();
        }
        return sum;
    }
}
