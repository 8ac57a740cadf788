package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import java.util.List;

/**
 * The items of the innermost running for loop, kept in the loop's scope so that {@code loop.previtem} and
 * {@code loop.nextitem} can be answered: Jinjava's loop object only holds an iterator.
 */
final class LoopItems {
    /** Scope variable name, chosen so that no real template uses it. */
    static final String SCOPE_KEY = "__jgpt_loop_items__";

    private LoopItems() {
    }

    static List<?> current(JinjavaInterpreter interpreter) {
        if (interpreter == null) {
            return null;
        }
        return interpreter.getContext().get(SCOPE_KEY) instanceof List<?> items ? items : null;
    }
}
