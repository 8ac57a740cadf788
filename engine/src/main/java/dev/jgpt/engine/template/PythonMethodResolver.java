package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.util.ForLoop;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives template expressions the Python behaviour chat templates are written against: {@code str} methods
 * ({@code .strip()}, {@code .split()}, {@code .startswith()}, ...), extended slices (see
 * {@link TemplateSourceRewriter}) and {@code loop.previtem} / {@code loop.nextitem}. Jinjava would otherwise
 * call the Java method of the same name ({@code String.split} takes a regex and drops trailing empty parts)
 * or find none at all.
 */
final class PythonMethodResolver extends ELResolver {

    /** Method name the source rewriter gives {@code x[a:b:c]}; not a Python name, so templates cannot clash. */
    static final String SLICE_METHOD = "__jgpt_slice__";

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (base == null || method == null) {
            return null;
        }
        String name = method.toString();
        Object[] args = params == null ? new Object[0] : params;
        if (SLICE_METHOD.equals(name)) {
            context.setPropertyResolved(true);
            return PythonSequences.slice(base, args);
        }
        if (base instanceof String text) {
            Object result = PythonStrings.call(text, name, args);
            if (result != PythonStrings.NO_SUCH_METHOD) {
                context.setPropertyResolved(true);
                return result;
            }
        }
        return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof ForLoop loop && property != null) {
            String name = property.toString();
            if (name.equals("previtem") || name.equals("nextitem")) {
                context.setPropertyResolved(true);
                List<?> items = LoopItems.current(JinjavaInterpreter.getCurrent());
                int index = loop.getIndex0() + (name.equals("previtem") ? -1 : 1);
                return items != null && index >= 0 && index < items.size() ? items.get(index) : null;
            }
        }
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // Not ours: leave assignment to the resolvers after this one.
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    /** Python's str methods that chat templates use, with Python's semantics. */
    static final class PythonStrings {
        static final Object NO_SUCH_METHOD = new Object();

        private PythonStrings() {
        }

        static Object call(String s, String method, Object[] args) {
            return switch (method) {
                case "strip" -> strip(s, arg(args, 0), true, true);
                case "lstrip" -> strip(s, arg(args, 0), true, false);
                case "rstrip" -> strip(s, arg(args, 0), false, true);
                case "split" -> split(s, arg(args, 0), maxSplit(args));
                case "rsplit" -> rsplit(s, arg(args, 0), maxSplit(args));
                case "splitlines" -> new ArrayList<>(s.lines().toList());
                case "startswith" -> affixMatch(s, args, true);
                case "endswith" -> affixMatch(s, args, false);
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "capitalize" -> s.isEmpty() ? s
                        : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "replace" -> replace(s, text(args, 0), text(args, 1), args.length > 2 ? toInt(args[2]) : -1);
                case "find" -> (long) s.indexOf(text(args, 0));
                case "rfind" -> (long) s.lastIndexOf(text(args, 0));
                case "count" -> count(s, text(args, 0));
                case "join" -> join(s, args.length > 0 ? args[0] : null);
                case "removeprefix" -> s.startsWith(text(args, 0)) ? s.substring(text(args, 0).length()) : s;
                case "removesuffix" -> s.endsWith(text(args, 0)) && !text(args, 0).isEmpty()
                        ? s.substring(0, s.length() - text(args, 0).length()) : s;
                case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
                case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
                case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
                case "isspace" -> !s.isEmpty() && s.chars().allMatch(PythonStrings::isPythonSpace);
                case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
                case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
                default -> NO_SUCH_METHOD;
            };
        }

        private static Object arg(Object[] args, int i) {
            return args.length > i ? args[i] : null;
        }

        private static String text(Object[] args, int i) {
            Object value = arg(args, i);
            if (value == null) {
                throw new IllegalArgumentException("missing string argument " + (i + 1));
            }
            return value.toString();
        }

        private static int maxSplit(Object[] args) {
            return args.length > 1 && args[1] != null ? toInt(args[1]) : -1;
        }

        private static int toInt(Object value) {
            return value instanceof Number n ? n.intValue() : Integer.parseInt(value.toString());
        }

        static boolean isPythonSpace(int c) {
            return Character.isWhitespace(c) || Character.isSpaceChar(c) || (c >= 0x1c && c <= 0x1f) || c == 0x85;
        }

        static String strip(String s, Object chars, boolean left, boolean right) {
            int start = 0;
            int end = s.length();
            String set = chars == null ? null : chars.toString();
            while (left && start < end && stripped(s.charAt(start), set)) {
                start++;
            }
            while (right && end > start && stripped(s.charAt(end - 1), set)) {
                end--;
            }
            return s.substring(start, end);
        }

        private static boolean stripped(char c, String set) {
            return set == null ? isPythonSpace(c) : set.indexOf(c) >= 0;
        }

        static List<Object> split(String s, Object separator, int maxSplit) {
            List<Object> parts = new ArrayList<>();
            if (separator == null) {
                // Whitespace split: runs of whitespace separate, no empty strings at the ends.
                int i = 0;
                int n = s.length();
                while (true) {
                    while (i < n && isPythonSpace(s.charAt(i))) {
                        i++;
                    }
                    if (i >= n) {
                        break;
                    }
                    if (maxSplit >= 0 && parts.size() == maxSplit) {
                        parts.add(strip(s.substring(i), null, false, true));
                        break;
                    }
                    int j = i;
                    while (j < n && !isPythonSpace(s.charAt(j))) {
                        j++;
                    }
                    parts.add(s.substring(i, j));
                    i = j;
                }
                return parts;
            }
            String sep = separator.toString();
            if (sep.isEmpty()) {
                throw new IllegalArgumentException("empty separator");
            }
            int from = 0;
            while (maxSplit < 0 || parts.size() < maxSplit) {
                int at = s.indexOf(sep, from);
                if (at < 0) {
                    break;
                }
                parts.add(s.substring(from, at));
                from = at + sep.length();
            }
            parts.add(s.substring(from));
            return parts;
        }

        static List<Object> rsplit(String s, Object separator, int maxSplit) {
            if (separator == null || maxSplit < 0) {
                return split(s, separator, maxSplit);
            }
            String sep = separator.toString();
            List<Object> parts = new ArrayList<>();
            int end = s.length();
            while (parts.size() < maxSplit) {
                int at = s.lastIndexOf(sep, end - sep.length());
                if (at < 0) {
                    break;
                }
                parts.addFirst(s.substring(at + sep.length(), end));
                end = at;
            }
            parts.addFirst(s.substring(0, end));
            return parts;
        }

        private static boolean affixMatch(String s, Object[] args, boolean prefix) {
            Object affixes = arg(args, 0);
            if (affixes instanceof Collection<?> options) {
                for (Object option : options) {
                    if (prefix ? s.startsWith(String.valueOf(option)) : s.endsWith(String.valueOf(option))) {
                        return true;
                    }
                }
                return false;
            }
            String affix = text(args, 0);
            return prefix ? s.startsWith(affix) : s.endsWith(affix);
        }

        private static String title(String s) {
            StringBuilder out = new StringBuilder(s.length());
            boolean previousIsLetter = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                out.append(previousIsLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
                previousIsLetter = Character.isLetter(c);
            }
            return out.toString();
        }

        private static String replace(String s, String old, String replacement, int count) {
            if (count < 0) {
                return s.replace(old, replacement);
            }
            StringBuilder out = new StringBuilder();
            int from = 0;
            for (int done = 0; done < count; done++) {
                int at = s.indexOf(old, from);
                if (at < 0) {
                    break;
                }
                out.append(s, from, at).append(replacement);
                from = at + old.length();
            }
            return out.append(s.substring(from)).toString();
        }

        private static long count(String s, String part) {
            if (part.isEmpty()) {
                return s.length() + 1L;
            }
            long n = 0;
            for (int at = s.indexOf(part); at >= 0; at = s.indexOf(part, at + part.length())) {
                n++;
            }
            return n;
        }

        private static String join(String separator, Object items) {
            List<String> parts = new ArrayList<>();
            if (items instanceof Iterable<?> iterable) {
                for (Object item : iterable) {
                    parts.add(String.valueOf(item));
                }
            } else if (items != null) {
                return String.join(separator, items.toString().codePoints()
                        .mapToObj(Character::toString).toList());
            }
            return String.join(separator, parts);
        }
    }
}
