package dev.jgpt.engine.template;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes values the way Python's {@code json.dumps(value, ensure_ascii=False, indent=..., separators=...,
 * sort_keys=...)} does, because Hugging Face's {@code tojson} filter is exactly that call and chat templates
 * put its output straight into prompts the models were trained on.
 */
final class PythonJson {

    /** How to lay out the JSON; {@code indent} null means one line, as in Python. */
    record Format(String indent, String itemSeparator, String keySeparator, boolean sortKeys, boolean ensureAscii) {
        static final Format COMPACT_PYTHON_DEFAULT = new Format(null, ", ", ": ", false, false);

        /** Python's defaults depend on indent: {@code (', ', ': ')} without it, {@code (',', ': ')} with it. */
        static Format of(String indent, List<String> separators, boolean sortKeys, boolean ensureAscii) {
            String item = indent == null ? ", " : ",";
            String key = ": ";
            if (separators != null) {
                item = separators.get(0);
                key = separators.get(1);
            }
            return new Format(indent, item, key, sortKeys, ensureAscii);
        }
    }

    private PythonJson() {
    }

    static String dumps(Object value) {
        return dumps(value, Format.COMPACT_PYTHON_DEFAULT);
    }

    static String dumps(Object value, Format format) {
        StringBuilder out = new StringBuilder();
        write(out, value, format, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Format format, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof CharSequence text) {
            writeString(out, text.toString(), format.ensureAscii());
        } else if (value instanceof Character c) {
            writeString(out, c.toString(), format.ensureAscii());
        } else if (value instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (value instanceof Number number) {
            out.append(numberText(number));
        } else if (value instanceof Map<?, ?> map) {
            writeObject(out, map, format, depth);
        } else if (value instanceof Map.Entry<?, ?> entry) {
            // Python's dict.items() yields tuples, which json.dumps writes as arrays.
            writeArray(out, Arrays.asList(entry.getKey(), entry.getValue()), format, depth);
        } else if (value instanceof Collection<?> collection) {
            writeArray(out, collection, format, depth);
        } else if (value.getClass().isArray()) {
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < Array.getLength(value); i++) {
                items.add(Array.get(value, i));
            }
            writeArray(out, items, format, depth);
        } else {
            writeString(out, value.toString(), format.ensureAscii());
        }
    }

    private static void writeObject(StringBuilder out, Map<?, ?> map, Format format, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        if (format.sortKeys()) {
            entries.sort((a, b) -> keyText(a.getKey()).compareTo(keyText(b.getKey())));
        }
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> entry : entries) {
            if (!first) {
                out.append(format.itemSeparator());
            }
            first = false;
            newlineAndIndent(out, format, depth + 1);
            writeString(out, keyText(entry.getKey()), format.ensureAscii());
            out.append(format.keySeparator());
            write(out, entry.getValue(), format, depth + 1);
        }
        newlineAndIndent(out, format, depth);
        out.append('}');
    }

    private static void writeArray(StringBuilder out, Collection<?> items, Format format, int depth) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        for (Object item : items) {
            if (!first) {
                out.append(format.itemSeparator());
            }
            first = false;
            newlineAndIndent(out, format, depth + 1);
            write(out, item, format, depth + 1);
        }
        newlineAndIndent(out, format, depth);
        out.append(']');
    }

    private static void newlineAndIndent(StringBuilder out, Format format, int depth) {
        if (format.indent() == null) {
            return;
        }
        out.append('\n');
        out.append(format.indent().repeat(depth));
    }

    /** Python turns non-string keys into strings: True -> "true", None -> "null", 1.5 -> "1.5". */
    private static String keyText(Object key) {
        if (key == null) {
            return "null";
        }
        if (key instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (key instanceof Number n) {
            return numberText(n);
        }
        return key.toString();
    }

    static String numberText(Number number) {
        if (number instanceof Double || number instanceof Float) {
            return pythonFloatRepr(number.doubleValue());
        }
        if (number instanceof BigDecimal decimal) {
            return pythonFloatRepr(decimal.doubleValue());
        }
        if (number instanceof BigInteger || number instanceof Long || number instanceof Integer
                || number instanceof Short || number instanceof Byte) {
            return number.toString();
        }
        return number.toString();
    }

    /** Python's float repr: shortest round-trip digits, "1.0" not "1", exponents as "1e-05" / "1e+16". */
    static String pythonFloatRepr(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        if (value == 0) {
            return (1 / value < 0) ? "-0.0" : "0.0";
        }
        // Shortest digits that round-trip, as both Java and Python compute them.
        BigDecimal shortest = new BigDecimal(Double.toString(value)).stripTrailingZeros();
        String digits = shortest.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - shortest.scale();
        String sign = value < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            String expSign = exponent < 0 ? "-" : "+";
            int absExp = Math.abs(exponent);
            return sign + mantissa + "e" + expSign + (absExp < 10 ? "0" + absExp : Integer.toString(absExp));
        }
        String plain = shortest.abs().toPlainString();
        if (!plain.contains(".")) {
            plain = plain + ".0";
        }
        return sign + plain;
    }

    private static void writeString(StringBuilder out, String text, boolean ensureAscii) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7f)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
