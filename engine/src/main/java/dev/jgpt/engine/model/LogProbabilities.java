package dev.jgpt.engine.model;

/** Log-softmax and ranking over a logits vector. */
public final class LogProbabilities {
    private LogProbabilities() {
    }

    /** Natural-log softmax over the whole vocabulary, computed in double for accuracy. */
    public static float[] logSoftmax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        float logSum = (float) (max + Math.log(sum));
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - logSum;
        }
        return out;
    }

    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Indices of the {@code k} largest values, largest first (ties: lower index first). */
    public static int[] topK(float[] values, int k) {
        k = Math.min(k, values.length);
        if (k <= 0) {
            return new int[0];
        }
        int[] idx = new int[k];
        int filled = 0;
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (filled < k) {
                int j = filled++;
                while (j > 0 && values[idx[j - 1]] < v) {
                    idx[j] = idx[j - 1];
                    j--;
                }
                idx[j] = i;
            } else if (v > values[idx[k - 1]]) {
                int j = k - 1;
                while (j > 0 && values[idx[j - 1]] < v) {
                    idx[j] = idx[j - 1];
                    j--;
                }
                idx[j] = i;
            }
        }
        return idx;
    }
}
