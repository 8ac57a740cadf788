package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter.InterpreterScopeClosable;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.lang3.tuple.Pair;

/**
 * Jinjava's {@code for} tag plus two Jinja2 features it lacks: loop filtering
 * ({@code {% for k, v in d.items() if k != "return" %}}, where {@code loop.*} counts only kept items) and
 * {@code loop.previtem} / {@code loop.nextitem} (answered by {@link PythonMethodResolver} from the item list
 * this tag leaves in scope).
 */
final class PythonForTag extends ForTag {

    @Override
    public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
        Pair<List<String>, String> varsAndExpression = getLoopVarsAndExpression((TagToken) tagNode.getMaster());
        List<String> loopVars = varsAndExpression.getLeft();
        String expression = varsAndExpression.getRight();
        int ifAt = topLevelIf(expression);
        String iterable = ifAt < 0 ? expression : expression.substring(0, ifAt).trim();
        Object collection = interpreter.resolveELExpression(iterable, tagNode.getLineNumber());
        List<Object> items = materialize(collection);
        if (ifAt >= 0) {
            items = keepMatching(items, loopVars, expression.substring(ifAt + 2).trim(), tagNode, interpreter);
        }
        try (InterpreterScopeClosable scope = interpreter.enterScope()) {
            interpreter.getContext().put(LoopItems.SCOPE_KEY, items);
            return renderForCollection(tagNode, interpreter, loopVars, items);
        }
    }

    private static List<Object> materialize(Object collection) {
        List<Object> items = new ArrayList<>();
        ForLoop loop = ObjectIterator.getLoop(collection);
        while (loop.hasNext()) {
            items.add(loop.next());
        }
        return items;
    }

    private static List<Object> keepMatching(List<Object> items, List<String> loopVars, String condition,
                                             TagNode tagNode, JinjavaInterpreter interpreter) {
        List<Object> kept = new ArrayList<>();
        for (Object item : items) {
            try (InterpreterScopeClosable scope = interpreter.enterScope()) {
                bind(loopVars, interpreter.wrap(item), interpreter);
                if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, tagNode.getLineNumber()))) {
                    kept.add(item);
                }
            }
        }
        return kept;
    }

    /** Binds loop variables the way ForTag does: one name takes the item, several unpack it. */
    private static void bind(List<String> loopVars, Object item, JinjavaInterpreter interpreter) {
        if (loopVars.size() == 1) {
            interpreter.getContext().put(loopVars.getFirst(), item);
            return;
        }
        for (int i = 0; i < loopVars.size(); i++) {
            Object value = null;
            if (item instanceof Map.Entry<?, ?> entry) {
                value = i == 0 ? entry.getKey() : i == 1 ? entry.getValue() : null;
            } else if (item instanceof List<?> list && i < list.size()) {
                value = list.get(i);
            }
            interpreter.getContext().put(loopVars.get(i), value);
        }
    }

    /**
     * Where the loop filter's {@code if} starts: the first {@code if} word outside quotes and brackets. Jinja2
     * parses a for loop's iterable without conditional expressions, so a top-level {@code if} is always the
     * filter.
     */
    static int topLevelIf(String expression) {
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0 && expression.startsWith("if", i)
                    && (i == 0 || Character.isWhitespace(expression.charAt(i - 1)) || expression.charAt(i - 1) == ')')
                    && (i + 2 < expression.length() && (Character.isWhitespace(expression.charAt(i + 2))
                        || expression.charAt(i + 2) == '('))) {
                return i;
            }
        }
        return -1;
    }
}
