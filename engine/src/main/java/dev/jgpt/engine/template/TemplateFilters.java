package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Filters whose Jinja2 (and Hugging Face) behaviour differs from Jinjava's built-in ones of the same name. */
final class TemplateFilters {
    private TemplateFilters() {
    }

    static List<Filter> all() {
        return List.of(new ToJson(), new Items(), new Trim());
    }

    /**
     * Hugging Face's {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=..., separators=...,
     * sort_keys=...)}, so non-ASCII text stays as is and the spacing is Python's.
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            String indentText = switch (indent) {
                case null -> null;
                case Number n -> " ".repeat(n.intValue());
                default -> indent.toString();
            };
            List<String> separators = null;
            if (kwargs.get("separators") instanceof List<?> pair && pair.size() == 2) {
                separators = List.of(String.valueOf(pair.get(0)), String.valueOf(pair.get(1)));
            }
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            boolean ensureAscii = Boolean.TRUE.equals(kwargs.get("ensure_ascii"));
            return PythonJson.dumps(var, PythonJson.Format.of(indentText, separators, sortKeys, ensureAscii));
        }
    }

    /** Jinja2's {@code items} filter: a mapping's (key, value) pairs; nothing for an undefined value. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return List.of();
            }
            if (var instanceof Map<?, ?> map) {
                return new ArrayList<Object>(map.entrySet());
            }
            throw new IllegalArgumentException("items filter expects a mapping, got " + var.getClass().getSimpleName());
        }
    }

    /** Jinja2's {@code trim}: Python's str.strip, and an undefined value trims to "" (Jinjava gives "null"). */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return "";
            }
            String chars = args.length > 0 ? args[0] : null;
            return PythonMethodResolver.PythonStrings.strip(var.toString(), chars, true, true);
        }
    }
}
