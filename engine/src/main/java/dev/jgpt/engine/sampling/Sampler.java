package dev.jgpt.engine.sampling;

import dev.jgpt.engine.model.LogProbabilities;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Chooses tokens from logits, in llama.cpp's order: logit bias, penalties, top-k, top-p, min-p,
 * temperature, then a draw from the remaining distribution (or argmax when greedy). One sampler serves
 * one sequence: it owns the random generator (seeded, so output is reproducible) and reusable buffers.
 */
public final class Sampler {
    /** Tokens this far below the best logit have probability under e^-30 and are dropped before sorting. */
    private static final float NEGLIGIBLE_LOGIT_GAP = 30f;

    private final SamplingParams params;
    private final SplittableRandom random;
    private final int[] counts;
    private final int[] recent;
    private int recentSize;
    private int recentStart;
    private final int[] candidates;
    private final float[] probs;
    private long[] sortKeys = new long[256];

    public Sampler(SamplingParams params, int vocabSize) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.counts = new int[vocabSize];
        int window = params.repeatLastN() < 0 ? 1 << 20 : Math.max(params.repeatLastN(), 0);
        this.recent = new int[Math.min(window, 1 << 20)];
        this.candidates = new int[vocabSize];
        this.probs = new float[vocabSize];
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a token of the context (prompt or output) so penalties see it. */
    public void accept(int token) {
        if (recent.length == 0) {
            return;
        }
        if (recentSize == recent.length) {
            counts[recent[recentStart]]--;
            recent[recentStart] = token;
            recentStart = (recentStart + 1) % recent.length;
        } else {
            recent[(recentStart + recentSize) % recent.length] = token;
            recentSize++;
        }
        counts[token]++;
    }

    /** Picks the next token. {@code logits} is modified (bias and penalties are applied in place). */
    public int sample(float[] logits) {
        applyBiasAndPenalties(logits);
        if (params.isGreedy()) {
            return LogProbabilities.argmax(logits);
        }
        int n = collectCandidates(logits, params.topK() > 0 ? params.topK() : Integer.MAX_VALUE);
        // Softmax over the kept candidates at temperature 1 for top-p and min-p, as llama.cpp does.
        float max = logits[candidates[0]];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp(logits[candidates[i]] - max);
            probs[i] = p;
            sum += p;
        }
        if (params.topP() < 1f) {
            double cumulative = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cumulative += probs[i] / sum;
                if (cumulative >= params.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (params.minP() > 0f) {
            float threshold = probs[0] * params.minP();
            int keep = 1;
            while (keep < n && probs[keep] >= threshold) {
                keep++;
            }
            n = keep;
        }
        // Temperature, then draw.
        float invT = 1f / params.temperature();
        double total = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[candidates[i]] - max) * invT);
            probs[i] = p;
            total += p;
        }
        double r = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[i];
            if (r < acc) {
                return candidates[i];
            }
        }
        return candidates[n - 1];
    }

    private void applyBiasAndPenalties(float[] logits) {
        for (Map.Entry<Integer, Float> e : params.logitBias().entrySet()) {
            int id = e.getKey();
            if (id >= 0 && id < logits.length) {
                logits[id] += e.getValue();
            }
        }
        boolean repeat = params.repeatPenalty() != 1f;
        boolean openAi = params.frequencyPenalty() != 0f || params.presencePenalty() != 0f;
        if (!repeat && !openAi) {
            return;
        }
        for (int i = 0; i < recentSize; i++) {
            int token = recent[(recentStart + i) % recent.length];
            int count = counts[token];
            if (count <= 0) {
                continue;
            }
            // Visit each distinct token once: skip later duplicates by marking with a negative count.
            counts[token] = -count;
            float l = logits[token];
            if (repeat) {
                l = l > 0 ? l / params.repeatPenalty() : l * params.repeatPenalty();
            }
            l -= count * params.frequencyPenalty() + params.presencePenalty();
            logits[token] = l;
        }
        for (int i = 0; i < recentSize; i++) {
            int token = recent[(recentStart + i) % recent.length];
            if (counts[token] < 0) {
                counts[token] = -counts[token];
            }
        }
    }

    /**
     * Fills {@code candidates} with the plausible tokens sorted by logit, best first, at most {@code limit}
     * of them (top-k); returns their count.
     */
    private int collectCandidates(float[] logits, int limit) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        float floor = max - NEGLIGIBLE_LOGIT_GAP;
        int n = 0;
        long[] keys = sortKeys;
        for (int i = 0; i < logits.length; i++) {
            float l = logits[i];
            if (l >= floor) {
                if (n == keys.length) {
                    keys = Arrays.copyOf(keys, n * 2);
                    sortKeys = keys;
                }
                // Sort key: descending logit, then ascending id (ties resolved like a stable sort).
                keys[n++] = ((long) ~sortableBits(l) << 32) | i;
            }
        }
        if (n > limit) {
            n = selectSmallest(keys, n, limit);
        }
        Arrays.sort(keys, 0, n);
        for (int i = 0; i < n; i++) {
            candidates[i] = (int) keys[i];
        }
        return n;
    }

    /**
     * Moves the {@code k} smallest of {@code keys[0..n)} to the front (in no order) with a bounded max-heap,
     * so top-k costs O(n log k) instead of sorting the whole vocabulary.
     */
    private static int selectSmallest(long[] keys, int n, int k) {
        // keys[0..k) is a max-heap of the best k so far.
        for (int i = k / 2 - 1; i >= 0; i--) {
            siftDown(keys, i, k);
        }
        for (int i = k; i < n; i++) {
            if (keys[i] < keys[0]) {
                keys[0] = keys[i];
                siftDown(keys, 0, k);
            }
        }
        return k;
    }

    private static void siftDown(long[] heap, int i, int size) {
        long v = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] > heap[child]) {
                child++;
            }
            if (heap[child] <= v) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = v;
    }

    /** Maps float order onto signed int order. */
    private static int sortableBits(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }
}
