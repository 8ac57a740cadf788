package dev.jgpt.engine.model;

import static dev.jgpt.engine.model.LlamaCppMath.roundF16;

/**
 * The scalar {@link FlashAttention} before its Vector API paths, kept verbatim as the bit-exact reference
 * of {@link FlashAttentionTest}.
 *
 * <p>Causal attention of one query head over an F16-rounded key/value cache, computed the way llama.cpp's CPU
 * flash attention does (its default on CPU). llama.cpp has three code paths, chosen by batch shape, and
 * each rounds differently, so jgpt picks the same path for the same situation:
 * <ul>
 * <li>{@link #oneChunk}: fewer than 64 query tokens in the batch. Query rounded to F16, F16 dot products,
 *     one online-softmax pass with the value sum accumulated <em>in F16</em>.</li>
 * <li>{@link #tiled}: 64 or more query tokens. Float query, keys and values in tiles of 64, exact-order
 *     fused multiply-adds, vectorised {@code expf}, sums in double per tile.</li>
 * <li>{@link #splitKv}: a single query over 512 or more cache cells. The cells are split among llama.cpp's
 *     threads, each runs {@link #oneChunk} on its share, and the partial results are merged.</li>
 * </ul>
 * The results differ from a plain softmax only in the last bits, but those bits reach the next 8-bit
 * activation quantizer, which is why they are reproduced.
 */
final class FlashAttentionReference {
    /** Query rows from which llama.cpp switches to the tiled kernel ({@code GGML_FA_TILE_Q}). */
    static final int TILE_Q = 64;
    /** Key/value tile size of the tiled kernel ({@code GGML_FA_TILE_KV}). */
    static final int TILE_KV = 64;
    /** Cache cells from which a single query is split across threads ({@code use_split_kv_path}). */
    static final int SPLIT_KV_MIN = 512;
    /**
     * Threads of the llama.cpp run the parity references were made with; the split path's chunk borders
     * depend on it.
     */
    static final int REFERENCE_THREADS = 2;
    /** llama.cpp pads the number of cache cells it attends over to a multiple of this. */
    static final int KV_PAD = 256;

    private final int headDim;
    private final int kvDim;
    private final float scale;
    private final float[] qh;
    private final float[] acc;
    private final float[] acc2;
    private final float[] tile;
    private final float[] tmp16 = new float[16];

    FlashAttentionReference(int headDim, int kvDim) {
        this.headDim = headDim;
        this.kvDim = kvDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        qh = new float[headDim];
        acc = new float[headDim];
        acc2 = new float[headDim];
        tile = new float[TILE_KV];
    }

    /**
     * Writes to {@code out[outOff..+headDim)} the attention of query {@code q[qOff..]} at position
     * {@code pos} over cache cells {@code 0..pos} of kv head offset {@code kvOff}.
     *
     * @param batchTokens tokens in the llama.cpp batch (ubatch) this query would belong to
     * @param cacheCells  size of the cache (llama.cpp's n_ctx), which bounds its padded cell count
     */
    void attend(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int pos, int batchTokens, int cacheCells,
                float[] out, int outOff) {
        if (batchTokens >= TILE_Q) {
            tiled(q, qOff, kc, vc, kvOff, pos, out, outOff);
            return;
        }
        int nKv = Math.min(cacheCells, Math.max(KV_PAD, (pos + 1 + KV_PAD - 1) / KV_PAD * KV_PAD));
        if (batchTokens == 1 && nKv >= SPLIT_KV_MIN) {
            splitKv(q, qOff, kc, vc, kvOff, pos, nKv, out, outOff);
            return;
        }
        float[] ms = oneChunk(q, qOff, kc, vc, kvOff, 0, pos + 1, acc);
        float inv = ms[1] == 0f ? 0f : 1f / ms[1];
        for (int d = 0; d < headDim; d++) {
            out[outOff + d] = acc[d] * inv;
        }
    }

    /**
     * llama.cpp's {@code flash_attn_ext_f16_one_chunk} over cells {@code [from, to)}: leaves the unnormalised
     * value sum in {@code vkq} and returns {max, sum}.
     */
    private float[] oneChunk(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int from, int to, float[] vkq) {
        for (int d = 0; d < headDim; d++) {
            qh[d] = roundF16(q[qOff + d]);
            vkq[d] = 0f;
        }
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int t = from; t < to; t++) {
            float s = dotF16(kc, t * kvDim + kvOff) * scale;
            float ms = 1f;
            float vs = 1f;
            int vOff = t * kvDim + kvOff;
            if (s > max) {
                float old = max;
                max = s;
                ms = expf(old - max);
                for (int d = 0; d < headDim; d++) {
                    vkq[d] = roundF16(vkq[d] * ms);
                }
            } else {
                vs = expf(s - max);
            }
            for (int d = 0; d < headDim; d++) {
                vkq[d] = roundF16(Math.fma(vc[vOff + d], vs, vkq[d])); // ggml_vec_mad_f16: F32 FMA, back to F16
            }
            sum = sum * ms + vs; // not fused in llama.cpp's build (checked against its output)
        }
        return new float[] {max, sum};
    }

    /**
     * {@code ggml_vec_dot_f16} of the F16-rounded query with one key, AVX-512 form: four 16-lane
     * accumulators (one product each when the head has 64 dimensions), combined 0+2, 1+3, then 0+1, then
     * reduced across lanes.
     */
    private float dotF16(float[] kc, int kOff) {
        if (headDim % 64 != 0) {
            double s = 0;
            for (int d = 0; d < headDim; d++) {
                s += qh[d] * kc[kOff + d];
            }
            return (float) s;
        }
        float[] lanes = tmp16;
        for (int l = 0; l < 16; l++) {
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            for (int i = 0; i < headDim; i += 64) {
                s0 = Math.fma(kc[kOff + i + l], qh[i + l], s0);
                s1 = Math.fma(kc[kOff + i + 16 + l], qh[i + 16 + l], s1);
                s2 = Math.fma(kc[kOff + i + 32 + l], qh[i + 32 + l], s2);
                s3 = Math.fma(kc[kOff + i + 48 + l], qh[i + 48 + l], s3);
            }
            lanes[l] = (s0 + s2) + (s1 + s3);
        }
        return LlamaCppMath.reduceAdd16(lanes, 0);
    }

    /** Single-query split path: chunks of {@code ceil(nKv / threads)} cells, merged in chunk order. */
    private void splitKv(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int pos, int nKv,
                         float[] out, int outOff) {
        int chunk = (nKv + REFERENCE_THREADS - 1) / REFERENCE_THREADS;
        float mFinal = Float.NEGATIVE_INFINITY;
        float sFinal = 0f;
        float[] fin = acc2;
        java.util.Arrays.fill(fin, 0, headDim, 0f);
        for (int from = 0; from < nKv; from += chunk) {
            int to = Math.min(Math.min(from + chunk, nKv), pos + 1);
            if (from >= to) {
                continue; // every cell of the chunk is masked: S = 0, skipped by the merge
            }
            float[] ms = oneChunk(q, qOff, kc, vc, kvOff, from, to, acc);
            if (ms[1] == 0f) {
                continue;
            }
            float mNew = Math.max(mFinal, ms[0]);
            float scaleOld = expf(mFinal - mNew);
            float scaleNew = expf(ms[0] - mNew);
            for (int d = 0; d < headDim; d++) {
                fin[d] = Math.fma(fin[d], scaleOld, acc[d] * scaleNew);
            }
            sFinal = Math.fma(sFinal, scaleOld, ms[1] * scaleNew);
            mFinal = mNew;
        }
        float inv = sFinal == 0f ? 0f : 1f / sFinal;
        for (int d = 0; d < headDim; d++) {
            out[outOff + d] = fin[d] * inv;
        }
    }

    /**
     * llama.cpp's {@code flash_attn_ext_tiled} for one query row (rows of a tile are independent): float
     * query, key tiles of 64 cells aligned at 0, fused multiply-adds in dimension order, vectorised
     * {@code expf}, the tile's probabilities summed 16 at a time into a double.
     */
    private void tiled(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int pos, float[] out, int outOff) {
        float[] vkq = acc;
        java.util.Arrays.fill(vkq, 0, headDim, 0f);
        float m = Float.NEGATIVE_INFINITY;
        float s = 0f;
        for (int ic = 0; ic <= pos; ic += TILE_KV) {
            float tileMax = Float.NEGATIVE_INFINITY;
            for (int tk = 0; tk < TILE_KV; tk++) {
                int t = ic + tk;
                if (t > pos) {
                    tile[tk] = Float.NEGATIVE_INFINITY;
                    continue;
                }
                int kOff = t * kvDim + kvOff;
                float kq = 0f;
                for (int d = 0; d < headDim; d++) {
                    kq = Math.fma(kc[kOff + d], q[qOff + d], kq);
                }
                tile[tk] = kq * scale;
                tileMax = Math.max(tileMax, tile[tk]);
            }
            float mNew = Math.max(m, tileMax);
            if (mNew > m) {
                float ms = expf(m - mNew);
                for (int d = 0; d < headDim; d++) {
                    vkq[d] *= ms;
                }
                s *= ms;
            }
            m = mNew;
            double tileSum = 0;
            for (int i = 0; i < TILE_KV; i += 16) {
                for (int l = 0; l < 16; l++) {
                    tile[i + l] = LlamaCppMath.vExpf(tile[i + l] - mNew);
                }
                tileSum += LlamaCppMath.reduceAdd16(tile, i);
            }
            s = (float) (s + tileSum);
            int last = Math.min(TILE_KV, pos + 1 - ic);
            for (int d = 0; d < headDim; d++) {
                float a = vkq[d];
                for (int tk = 0; tk < last; tk++) {
                    a = Math.fma(tile[tk], vc[(ic + tk) * kvDim + kvOff + d], a);
                }
                vkq[d] = a;
            }
        }
        float inv = s == 0f ? 0f : 1f / s;
        for (int d = 0; d < headDim; d++) {
            out[outOff + d] = vkq[d] * inv;
        }
    }

    /** glibc's {@code expf}, which is correctly rounded in practice; so is exp in double, rounded once. */
    private static float expf(float x) {
        return (float) Math.exp(x);
    }
}
