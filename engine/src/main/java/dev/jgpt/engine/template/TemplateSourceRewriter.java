package dev.jgpt.engine.template;

/**
 * The two places where Jinjava reads valid Jinja2 source differently, fixed in the source before parsing:
 * <ul>
 *   <li>Extended slices {@code x[start:stop:step]} (Qwen3 walks {@code messages[::-1]}): Jinjava's expression
 *       parser only knows {@code x[start:stop]} and fails with a syntax error. They become a method call
 *       {@code x.__jgpt_slice__(start, stop, step)} that {@link PythonMethodResolver} answers with Python's
 *       slicing; a method call binds like a subscript, so the rest of the expression parses as before.</li>
 *   <li>Jinja2 drops one newline at the very end of a template ({@code keep_trailing_newline=False}, which
 *       Hugging Face keeps); Jinjava would print it.</li>
 * </ul>
 */
final class TemplateSourceRewriter {
    private TemplateSourceRewriter() {
    }

    static String rewrite(String source) {
        String withoutTrailingNewline = source.endsWith("\r\n") ? source.substring(0, source.length() - 2)
                : source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        return rewriteExtendedSlices(withoutTrailingNewline);
    }

    /** Rewrites slices inside {{ }} and {% %}; text, comments and raw blocks are copied unchanged. */
    static String rewriteExtendedSlices(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int i = 0;
        while (i < source.length()) {
            int open = nextDelimiter(source, i);
            if (open < 0) {
                out.append(source, i, source.length());
                break;
            }
            out.append(source, i, open);
            char kind = source.charAt(open + 1);
            if (kind == '#') {
                int close = source.indexOf("#}", open + 2);
                int end = close < 0 ? source.length() : close + 2;
                out.append(source, open, end);
                i = end;
                continue;
            }
            String closer = kind == '{' ? "}}" : "%}";
            int close = findCloser(source, closer, open + 2);
            int end = close < 0 ? source.length() : close;
            String body = source.substring(open + 2, end);
            out.append(source, open, open + 2).append(separateClosingBraces(rewriteExpression(body)));
            i = end;
            if (kind == '%' && stripWhitespaceControl(body).equals("raw")) {
                int endRaw = source.indexOf("endraw", end);
                int rawEnd = endRaw < 0 ? source.length() : source.indexOf("%}", endRaw);
                rawEnd = rawEnd < 0 ? source.length() : rawEnd;
                out.append(source, end, rawEnd);
                i = rawEnd;
            }
        }
        return out.toString();
    }

    /** A {{ }} or {% %} body with its kind ('{' or '%') and 1-based line, as the validator needs them. */
    record TagBody(char kind, int line, String body) {
    }

    /** The bodies of all expressions and tags, in order; comments and raw blocks are skipped. */
    static java.util.List<TagBody> tagBodies(String source) {
        java.util.List<TagBody> bodies = new java.util.ArrayList<>();
        int i = 0;
        while (i < source.length()) {
            int open = nextDelimiter(source, i);
            if (open < 0) {
                break;
            }
            char kind = source.charAt(open + 1);
            if (kind == '#') {
                int close = source.indexOf("#}", open + 2);
                i = close < 0 ? source.length() : close + 2;
                continue;
            }
            int close = findCloser(source, kind == '{' ? "}}" : "%}", open + 2);
            int end = close < 0 ? source.length() : close;
            String body = source.substring(open + 2, end);
            int line = 1 + (int) source.substring(0, open).chars().filter(c -> c == '\n').count();
            bodies.add(new TagBody(kind, line, body));
            i = end;
            if (kind == '%' && stripWhitespaceControl(body).equals("raw")) {
                int endRaw = source.indexOf("endraw", end);
                i = endRaw < 0 ? source.length() : endRaw;
            }
        }
        return bodies;
    }

    /**
     * The body without Jinja's whitespace-control marks and surrounding blanks. A mark touches its delimiter
     * ({@code {%- x -%}}, {@code {%+ x %}}); a dash after a blank is a minus sign.
     */
    static String stripWhitespaceControl(String body) {
        int start = !body.isEmpty() && (body.charAt(0) == '-' || body.charAt(0) == '+') ? 1 : 0;
        int end = body.length() > start && body.charAt(body.length() - 1) == '-' ? body.length() - 1 : body.length();
        return body.substring(start, end).strip();
    }

    private static int nextDelimiter(String source, int from) {
        for (int i = from; i < source.length() - 1; i++) {
            if (source.charAt(i) == '{') {
                char next = source.charAt(i + 1);
                if (next == '{' || next == '%' || next == '#') {
                    return i;
                }
            }
        }
        return -1;
    }

    /** Where a tag ends: its closer outside quotes and outside brackets, as Jinja2's lexer finds it. */
    private static int findCloser(String source, String closer, int from) {
        char quote = 0;
        int depth = 0;
        for (int i = from; i < source.length(); i++) {
            char c = source.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (depth == 0 && source.startsWith(closer, i)) {
                return i;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                depth--;
            }
        }
        return -1;
    }

    /**
     * Jinjava ends an expression at the first "}}" outside quotes, even when it closes nested dict literals
     * ({@code {{ {'a': {}} }}}); a space between the braces keeps the meaning and the whole expression.
     */
    static String separateClosingBraces(String body) {
        if (!body.contains("}}")) {
            return body;
        }
        StringBuilder out = new StringBuilder(body.length() + 4);
        char quote = 0;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            out.append(c);
            if (quote != 0) {
                if (c == '\\' && i + 1 < body.length()) {
                    out.append(body.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '}' && i + 1 < body.length() && body.charAt(i + 1) == '}') {
                out.append(' ');
            }
        }
        return out.toString();
    }

    /** Rewrites every subscript with two top-level colons, innermost parts included. */
    static String rewriteExpression(String expression) {
        StringBuilder out = new StringBuilder(expression.length());
        char quote = 0;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < expression.length()) {
                    out.append(expression.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                out.append(c);
                continue;
            }
            if (c == '[' && isSubscript(out)) {
                int close = matchingBracket(expression, i);
                if (close > 0) {
                    String inside = expression.substring(i + 1, close);
                    String[] parts = splitTopLevelColons(inside);
                    if (parts.length == 3) {
                        out.append('.').append(PythonMethodResolver.SLICE_METHOD).append('(')
                                .append(sliceArgument(parts[0])).append(", ")
                                .append(sliceArgument(parts[1])).append(", ")
                                .append(sliceArgument(parts[2])).append(')');
                    } else {
                        out.append('[').append(rewriteExpression(inside)).append(']');
                    }
                    i = close;
                    continue;
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    private static String sliceArgument(String part) {
        String trimmed = part.strip();
        return trimmed.isEmpty() ? "none" : rewriteExpression(trimmed);
    }

    /** A '[' right after a name, ')' or ']' indexes something; elsewhere it starts a list literal. */
    private static boolean isSubscript(CharSequence before) {
        for (int i = before.length() - 1; i >= 0; i--) {
            char c = before.charAt(i);
            if (c == ' ' || c == '\t') {
                continue;
            }
            return Character.isLetterOrDigit(c) || c == '_' || c == ')' || c == ']' || c == '\'' || c == '"';
        }
        return false;
    }

    private static int matchingBracket(String expression, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
                if (depth == 0) {
                    return c == ']' ? i : -1;
                }
            }
        }
        return -1;
    }

    private static String[] splitTopLevelColons(String inside) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        char quote = 0;
        int start = 0;
        for (int i = 0; i < inside.length(); i++) {
            char c = inside.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
            } else if (c == ':' && depth == 0) {
                parts.add(inside.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(inside.substring(start));
        return parts.toArray(String[]::new);
    }
}
