package dev.jgpt.engine.template;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Python's extended slicing {@code seq[start:stop:step]} for strings and lists, e.g. {@code messages[::-1]}. */
final class PythonSequences {
    private PythonSequences() {
    }

    /** args: start, stop, step, each possibly null (omitted), as Python's slice(start, stop, step). */
    static Object slice(Object base, Object[] args) {
        Long start = integer(args, 0);
        Long stop = integer(args, 1);
        Long step = integer(args, 2);
        if (base instanceof String text) {
            StringBuilder out = new StringBuilder();
            int[] codePoints = text.codePoints().toArray();
            for (int index : indices(codePoints.length, start, stop, step)) {
                out.appendCodePoint(codePoints[index]);
            }
            return out.toString();
        }
        if (base instanceof Collection<?> collection) {
            List<?> items = collection instanceof List<?> list ? list : new ArrayList<>(collection);
            List<Object> out = new ArrayList<>();
            for (int index : indices(items.size(), start, stop, step)) {
                out.add(items.get(index));
            }
            return out;
        }
        throw new IllegalArgumentException("cannot slice a " + base.getClass().getSimpleName()
                + "; slicing works on strings and lists");
    }

    private static Long integer(Object[] args, int i) {
        if (args.length <= i || args[i] == null) {
            return null;
        }
        if (args[i] instanceof Number n) {
            return n.longValue();
        }
        throw new IllegalArgumentException("slice indices must be integers, got " + args[i]);
    }

    /** The indices Python's slice.indices(length) walks, in order. */
    static List<Integer> indices(int length, Long start, Long stop, Long step) {
        long by = step == null ? 1 : step;
        if (by == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        long from;
        long to;
        if (by > 0) {
            from = start == null ? 0 : clamp(start, length, 0, length);
            to = stop == null ? length : clamp(stop, length, 0, length);
        } else {
            from = start == null ? length - 1 : clamp(start, length, -1, length - 1);
            to = stop == null ? -1 : clamp(stop, length, -1, length - 1);
        }
        List<Integer> out = new ArrayList<>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) {
            out.add((int) i);
        }
        return out;
    }

    private static long clamp(long index, int length, long low, long high) {
        long i = index < 0 ? index + length : index;
        return Math.max(low, Math.min(high, i));
    }
}
