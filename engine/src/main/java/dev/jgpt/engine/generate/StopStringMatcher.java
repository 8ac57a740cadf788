package dev.jgpt.engine.generate;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that might be the start of a stop string is held back until
 * the next chunk shows whether it is, so a stop string is never shown to the user, not even in part.
 */
public final class StopStringMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopStringMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Adds generated text and returns what can be shown now: everything before a stop string (after
     * which {@link #stopped()} is true), or everything that cannot be the beginning of one.
     */
    public String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int first = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int keep = longestStopPrefixAtEnd();
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** Text held back at the end of generation (it turned out not to be a stop string). */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    public boolean stopped() {
        return stopped;
    }

    private int longestStopPrefixAtEnd() {
        int best = 0;
        String text = pending.toString();
        for (String stop : stops) {
            int max = Math.min(stop.length() - 1, text.length());
            for (int len = max; len > best; len--) {
                if (text.regionMatches(text.length() - len, stop, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
