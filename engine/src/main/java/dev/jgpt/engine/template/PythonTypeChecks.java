package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import java.util.List;
import java.util.Map;

/**
 * Jinja2's {@code is iterable} and {@code is sequence} follow Python: strings and dicts are both. Llama 3's
 * template relies on it ({@code message.content is mapping or message.content is iterable}) to JSON-encode
 * tool results, where Jinjava's tests would say no.
 */
final class PythonTypeChecks {
    private PythonTypeChecks() {
    }

    static List<ExpTest> all() {
        return List.of(new PythonTest("iterable"), new PythonTest("sequence"));
    }

    private record PythonTest(String name) implements ExpTest {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof Map<?, ?> || var instanceof Iterable<?>
                    || (var != null && var.getClass().isArray());
        }
    }
}
