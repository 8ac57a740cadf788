package dev.jgpt.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The figures of one load-test phase: outcomes, aggregate tokens/s over the phase's wall time, and the
 * p50/p99 of time to first token and inter-token latency (over completed requests, nearest rank).
 */
record LoadTestReport(int completed, int rejected, int lost, long tokens, double wallSeconds,
                      double tokensPerSecond, double ttftP50Ms, double ttftP99Ms, double itlP50Ms, double itlP99Ms,
                      List<String> errors) {

    static LoadTestReport of(List<StreamingChatClient.Result> results, long wallNanos) {
        int completed = 0;
        int rejected = 0;
        int lost = 0;
        long tokens = 0;
        List<String> errors = new ArrayList<>();
        long[] ttft = new long[results.size()];
        int ttftCount = 0;
        int gapCount = 0;
        for (StreamingChatClient.Result r : results) {
            gapCount += r.gapsNanos().length;
        }
        long[] gaps = new long[gapCount];
        int g = 0;
        for (StreamingChatClient.Result r : results) {
            switch (r.outcome()) {
                case COMPLETED -> {
                    completed++;
                    tokens += r.completionTokens();
                    if (r.timeToFirstTokenNanos() >= 0) {
                        ttft[ttftCount++] = r.timeToFirstTokenNanos();
                    }
                    System.arraycopy(r.gapsNanos(), 0, gaps, g, r.gapsNanos().length);
                    g += r.gapsNanos().length;
                }
                case REJECTED -> rejected++;
                case LOST -> {
                    lost++;
                    errors.add(r.error());
                }
            }
        }
        double seconds = wallNanos / 1e9;
        long[] ttftDone = Arrays.copyOf(ttft, ttftCount);
        long[] gapsDone = Arrays.copyOf(gaps, g);
        return new LoadTestReport(completed, rejected, lost, tokens, seconds, tokens / seconds,
                percentileMs(ttftDone, 50), percentileMs(ttftDone, 99), percentileMs(gapsDone, 50),
                percentileMs(gapsDone, 99), List.copyOf(errors));
    }

    /** Nearest-rank percentile in milliseconds; NaN when there are no samples. */
    static double percentileMs(long[] nanos, double p) {
        if (nanos.length == 0) {
            return Double.NaN;
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }

    ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("completed", completed).put("rejected", rejected).put("lost", lost).put("tokens", tokens);
        put(o, "wall_seconds", wallSeconds);
        put(o, "tokens_per_second", tokensPerSecond);
        put(o, "ttft_p50_ms", ttftP50Ms);
        put(o, "ttft_p99_ms", ttftP99Ms);
        put(o, "itl_p50_ms", itlP50Ms);
        put(o, "itl_p99_ms", itlP99Ms);
        return o;
    }

    /** Two decimals; null when there were no samples (JSON has no NaN). */
    private static void put(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) {
            o.putNull(key);
        } else {
            o.put(key, Math.round(v * 100) / 100.0);
        }
    }

    String toText() {
        return String.format(Locale.ROOT, "completed %d, rejected %d, lost %d; %d tokens in %.2f s = %.1f tokens/s;"
                        + " time to first token p50 %.1f ms, p99 %.1f ms; inter-token latency p50 %.1f ms, p99 %.1f ms",
                completed, rejected, lost, tokens, wallSeconds, tokensPerSecond, ttftP50Ms, ttftP99Ms, itlP50Ms, itlP99Ms);
    }
}
