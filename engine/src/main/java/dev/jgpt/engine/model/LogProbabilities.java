package dev.jgpt.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Log-softmax and ranking over a logits vector. */
public final class LogProbabilities {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

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

    /**
     * Index of the largest value, the first of equal ones; NaNs never win, unless the first value is NaN
     * (then 0): {@link #argmaxScalar}'s result, found with vectors. It runs once per generated token per
     * sequence; over a 32000-entry vocabulary the scalar loop took 9 us, as long as a tenth of a tiny
     * model's forward pass.
     */
    public static int argmax(float[] values) {
        int n = values.length;
        if (n == 0 || Float.isNaN(values[0])) {
            return 0;
        }
        // the largest value: four lanewise running maxima, written out (a helper taking vectors is boxed
        // where C2 declines to inline it: it then cost as much as the argmax itself). A NaN anywhere makes
        // the maximum NaN; NaNs never win, so the scalar loop decides then.
        FloatVector m0 = FloatVector.broadcast(F, values[0]);
        FloatVector m1 = m0;
        FloatVector m2 = m0;
        FloatVector m3 = m0;
        int step = F.length();
        int i = 0;
        for (; i + 4 * step <= n; i += 4 * step) {
            m0 = m0.max(FloatVector.fromArray(F, values, i));
            m1 = m1.max(FloatVector.fromArray(F, values, i + step));
            m2 = m2.max(FloatVector.fromArray(F, values, i + 2 * step));
            m3 = m3.max(FloatVector.fromArray(F, values, i + 3 * step));
        }
        float max = m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, values[i]);
        }
        if (Float.isNaN(max)) {
            return argmaxScalar(values);
        }
        // its first index (== also matches -0 for 0, as the scalar loop's > does not tell them apart)
        i = 0;
        for (int bound = F.loopBound(n); i < bound; i += step) {
            var equal = FloatVector.fromArray(F, values, i).compare(VectorOperators.EQ, max);
            if (equal.anyTrue()) {
                return i + equal.firstTrue();
            }
        }
        while (values[i] != max) {
            i++;
        }
        return i;
    }

    /** The reference {@link #argmax}: the first index whose value is greater than every earlier one's. */
    static int argmaxScalar(float[] values) {
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
