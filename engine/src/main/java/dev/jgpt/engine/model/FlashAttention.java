package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.MatrixOps;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static dev.jgpt.engine.model.LlamaCppMath.roundF16;
import static dev.jgpt.engine.model.LlamaCppMath.roundF16Lanes;

/**
 * Causal attention of one query head over an F16-rounded key/value cache, computed the way llama.cpp's CPU
 * flash attention does (its default on CPU). llama.cpp has three code paths, chosen by batch shape, and
 * each rounds differently, so jgpt picks the same path for the same situation:
 * <ul>
 * <li>{@link #oneChunk}: fewer than 64 query tokens in the batch. Query rounded to F16, F16 dot products,
 *     one online-softmax pass with the value sum accumulated <em>in F16</em>.</li>
 * <li>{@link #tiled}: 64 or more query tokens. Float query, keys and values in tiles of 64, exact-order
 *     fused multiply-adds, vectorised {@code expf}, sums in double per tile. A prompt's keys are first
 *     laid out by tiles ({@link #tileKeys}), so that 16 keys' chains run in one vector (scalar chains,
 *     eight at a time, were ~13% of a tiny model's 128-token prompt); and a prompt's queries go two
 *     neighbouring tokens at a time ({@link #attendPair}), sharing each key and value load, with twice the
 *     independent chains of multiply-adds.</li>
 * <li>{@link #splitKv}: a single query over 512 or more cache cells. The cells are split among llama.cpp's
 *     threads, each runs {@link #oneChunk} on its share, and the partial results are merged.</li>
 * </ul>
 * The results differ from a plain softmax only in the last bits, but those bits reach the next 8-bit
 * activation quantizer, which is why they are reproduced. With 512-bit vectors the key dot products and
 * the tiled kernel's value sums run on the Vector API in the same lane and accumulation order; with 256-bit
 * vectors (AVX2) too, the 16-lane dot products as two 8-lane halves, and the tiled kernel's 16 keys (or
 * dimensions) to a vector as 8. Before that the AVX2 path was scalar: tiny-llama-q8_0's 128-token prompt
 * spent about a third of its time in {@link #tiled} on a Zen 3.
 */
final class FlashAttention {
    /** Query rows from which llama.cpp switches to the tiled kernel ({@code GGML_FA_TILE_Q}). */
    static final int TILE_Q = 64;
    /** Key/value tile size of the tiled kernel ({@code GGML_FA_TILE_KV}). */
    static final int TILE_KV = 64;
    /** Lanes for the tile's exponentials (any width gives the same bits; TILE_KV is a multiple of all). */
    private static final VectorSpecies<Float> EXP_LANES = FloatVector.SPECIES_PREFERRED;
    /** Cache cells from which a single query is split across threads ({@code use_split_kv_path}). */
    static final int SPLIT_KV_MIN = 512;
    /**
     * Threads of the llama.cpp run the parity references were made with; the split path's chunk borders
     * depend on it.
     */
    static final int REFERENCE_THREADS = 2;
    /** llama.cpp pads the number of cache cells it attends over to a multiple of this. */
    static final int KV_PAD = 256;

    /** 16 float lanes, the width of llama.cpp's AVX-512 {@code ggml_vec_dot_f16}; null: scalar only. */
    private static final VectorSpecies<Float> F16_LANES = VectorWidth.BITS >= 512 ? FloatVector.SPECIES_512 : null;
    /**
     * Lanes for the computations whose lanes are independent chains (the tiled kernel's key scores and value
     * sums, the one-chunk kernel's F16 value updates): 16 with 512-bit vectors, 8 with 256-bit ones (AVX2),
     * the same bits either way; null: scalar only.
     */
    private static final VectorSpecies<Float> LANES = VectorWidth.BITS >= 512 ? FloatVector.SPECIES_512
            : VectorWidth.BITS >= 256 ? FloatVector.SPECIES_256 : null;
    /** The length of {@link #LANES}' vectors. */
    private static final int VL = LANES == null ? 0 : LANES.length();
    /** Whether {@link #tiled} scores 16 (or 8) keys per vector from {@link #tileKeys}' layout. */
    static final boolean TILED_BY_LANES = LANES != null;
    /** Lane l takes lane l ^ k: the butterfly steps of {@link LlamaCppMath#reduceAdd16}. */
    private static final VectorShuffle<Float> XOR8 = xor(8);
    private static final VectorShuffle<Float> XOR4 = xor(4);
    private static final VectorShuffle<Float> XOR2 = xor(2);
    private static final VectorShuffle<Float> XOR1 = xor(1);

    private final int headDim;
    private final int kvDim;
    private final float scale;
    private final float[] qh;
    private final float[] acc;
    private final float[] acc2;
    private final float[] tile;
    /** The second query's tile in {@link #tiledPair}. */
    private final float[] tile2;
    /** The running maxima and sums of {@link #tiled} and {@link #tiledPair}. */
    private final float[] pairState = new float[4];
    private final float[] tmp16 = new float[16];
    /** Per cell of a chunk: its key score, then its value's weight, or the rescaling at a new maximum. */
    private float[] valueWeight = new float[0];
    /** Per cell of a chunk: whether its score is a new maximum (the value sum is rescaled, the weight is 1). */
    private boolean[] newMax = new boolean[0];
    /** {@link #oneChunk}'s result: {max, sum}. */
    private final float[] maxSum = new float[2];

    FlashAttention(int headDim, int kvDim) {
        this.headDim = headDim;
        this.kvDim = kvDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        qh = new float[headDim];
        acc = new float[headDim];
        acc2 = new float[headDim];
        tile = new float[TILE_KV];
        tile2 = new float[TILE_KV];
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
        attend(q, qOff, kc, null, vc, kvOff, pos, batchTokens, cacheCells, out, outOff);
    }

    /**
     * {@link #attend(float[], int, float[], float[], int, int, int, int, float[], int)} with, for the tiled
     * kernel, the keys also laid out by {@link #tileKeys} in {@code tiledKeys} (or null).
     */
    void attend(float[] q, int qOff, float[] kc, float[] tiledKeys, float[] vc, int kvOff, int pos, int batchTokens,
                int cacheCells, float[] out, int outOff) {
        if (batchTokens >= TILE_Q) {
            tiled(q, qOff, kc, tiledKeys, vc, kvOff, pos, out, outOff);
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
     *
     * <p>llama.cpp goes cell by cell: key score, online softmax step, value update. The same operations run
     * here in passes over all cells, in the same order for each quantity, so the bits are the same; but
     * the key dot products no longer wait for the previous cell's value update, and the exponentials,
     * which depend only on the running maximum, no longer wait for anything. One query over 160 cells of a
     * 64-dimension head, one thread: 5.45 to 4.25 us (CPU time).
     */
    private float[] oneChunk(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int from, int to, float[] vkq) {
        for (int d = 0; d < headDim; d++) {
            qh[d] = roundF16(q[qOff + d]);
            vkq[d] = 0f;
        }
        if (valueWeight.length < to) {
            int size = Math.max(to, 2 * valueWeight.length);
            valueWeight = new float[size];
            newMax = new boolean[size];
        }
        float[] w = valueWeight;
        for (int t = from; t < to; t++) {
            w[t] = dotF16(kc, t * kvDim + kvOff) * scale;
        }
        // each cell's exponent: of the value sum's rescaling where its score is a new maximum, else of its weight
        float max = Float.NEGATIVE_INFINITY;
        for (int t = from; t < to; t++) {
            float s = w[t];
            newMax[t] = s > max;
            if (s > max) {
                w[t] = max - s;
                max = s;
            } else {
                w[t] = s - max;
            }
        }
        float sum = 0f;
        for (int t = from; t < to; t++) {
            float e = expf(w[t]);
            w[t] = e;
            sum = newMax[t] ? sum * e + 1f : sum + e; // not fused in llama.cpp's build (checked against its output)
        }
        for (int t = from; t < to; t++) {
            if (newMax[t]) {
                scaleF16(vkq, w[t]);
                madF16(vc, t * kvDim + kvOff, 1f, vkq);
            } else {
                madF16(vc, t * kvDim + kvOff, w[t], vkq);
            }
        }
        maxSum[0] = max;
        maxSum[1] = sum;
        return maxSum;
    }

    /** {@code vkq = F16(vkq * ms)}, as {@code ggml_vec_scale_f16}. */
    private void scaleF16(float[] vkq, float ms) {
        int d = 0;
        if (LANES != null) {
            for (; d + VL <= headDim; d += VL) {
                roundF16Lanes(FloatVector.fromArray(LANES, vkq, d).mul(ms)).intoArray(vkq, d);
            }
        }
        for (; d < headDim; d++) {
            vkq[d] = roundF16(vkq[d] * ms);
        }
    }

    /** {@code vkq = F16(v * vs + vkq)}: {@code ggml_vec_mad_f16}, a float fused multiply-add rounded to F16. */
    private void madF16(float[] vc, int vOff, float vs, float[] vkq) {
        int d = 0;
        if (LANES != null) {
            FloatVector scale = FloatVector.broadcast(LANES, vs);
            for (; d + VL <= headDim; d += VL) {
                FloatVector v = FloatVector.fromArray(LANES, vc, vOff + d);
                roundF16Lanes(v.fma(scale, FloatVector.fromArray(LANES, vkq, d))).intoArray(vkq, d);
            }
        }
        for (; d < headDim; d++) {
            vkq[d] = roundF16(Math.fma(vc[vOff + d], vs, vkq[d]));
        }
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
        if (F16_LANES != null) {
            FloatVector s0 = FloatVector.zero(F16_LANES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int i = 0; i < headDim; i += 64) {
                s0 = keys(kc, kOff + i).fma(keys(qh, i), s0);
                s1 = keys(kc, kOff + i + 16).fma(keys(qh, i + 16), s1);
                s2 = keys(kc, kOff + i + 32).fma(keys(qh, i + 32), s2);
                s3 = keys(kc, kOff + i + 48).fma(keys(qh, i + 48), s3);
            }
            return reduceAdd16(s0.add(s2).add(s1.add(s3)));
        }
        if (VL == 8) {
            // the same 16-lane chains as 8-lane halves: lanes 0-7 in the l vectors, 8-15 in the h ones
            FloatVector s0l = FloatVector.zero(LANES);
            FloatVector s0h = s0l;
            FloatVector s1l = s0l;
            FloatVector s1h = s0l;
            FloatVector s2l = s0l;
            FloatVector s2h = s0l;
            FloatVector s3l = s0l;
            FloatVector s3h = s0l;
            for (int i = 0; i < headDim; i += 64) {
                int k = kOff + i;
                s0l = FloatVector.fromArray(LANES, kc, k).fma(FloatVector.fromArray(LANES, qh, i), s0l);
                s0h = FloatVector.fromArray(LANES, kc, k + 8).fma(FloatVector.fromArray(LANES, qh, i + 8), s0h);
                s1l = FloatVector.fromArray(LANES, kc, k + 16).fma(FloatVector.fromArray(LANES, qh, i + 16), s1l);
                s1h = FloatVector.fromArray(LANES, kc, k + 24).fma(FloatVector.fromArray(LANES, qh, i + 24), s1h);
                s2l = FloatVector.fromArray(LANES, kc, k + 32).fma(FloatVector.fromArray(LANES, qh, i + 32), s2l);
                s2h = FloatVector.fromArray(LANES, kc, k + 40).fma(FloatVector.fromArray(LANES, qh, i + 40), s2h);
                s3l = FloatVector.fromArray(LANES, kc, k + 48).fma(FloatVector.fromArray(LANES, qh, i + 48), s3l);
                s3h = FloatVector.fromArray(LANES, kc, k + 56).fma(FloatVector.fromArray(LANES, qh, i + 56), s3h);
            }
            float[] lanes = tmp16;
            s0l.add(s2l).add(s1l.add(s3l)).intoArray(lanes, 0);
            s0h.add(s2h).add(s1h.add(s3h)).intoArray(lanes, 8);
            return LlamaCppMath.reduceAdd16(lanes, 0);
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

    private static FloatVector keys(float[] a, int offset) {
        return FloatVector.fromArray(F16_LANES, a, offset);
    }

    /** {@link LlamaCppMath#reduceAdd16} of the 16 lanes, as butterfly steps (float addition commutes). */
    private static float reduceAdd16(FloatVector v) {
        v = v.add(v.rearrange(XOR8));
        v = v.add(v.rearrange(XOR4));
        v = v.add(v.rearrange(XOR2));
        return v.add(v.rearrange(XOR1)).lane(0);
    }

    private static VectorShuffle<Float> xor(int k) {
        if (F16_LANES == null) {
            return null;
        }
        int[] lanes = new int[16];
        for (int l = 0; l < 16; l++) {
            lanes[l] = l ^ k;
        }
        return VectorShuffle.fromArray(F16_LANES, lanes, 0);
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
     * The keys of cache cells {@code [0, cells)} (rows of {@code kvDim} in {@code kc}) by tiles of
     * {@link #TILE_KV} cells, for {@link #tiled}: cell {@code t}'s dimension {@code c} at
     * {@code ((t / TILE_KV) * kvDim + c) * TILE_KV + t % TILE_KV}, so that for each dimension the 64 keys
     * of a tile are side by side. Built once per layer and sequence, it lets every query of a prompt score
     * 16 keys per vector instruction. Returns {@code buffer}, or a larger one.
     */
    static float[] tileKeys(float[] kc, int kvDim, int cells, float[] buffer) {
        int tiles = (cells + TILE_KV - 1) / TILE_KV;
        int size = tiles * kvDim * TILE_KV;
        float[] kt = buffer != null && buffer.length >= size ? buffer : new float[size];
        // tile by tile, written in order (a tile's 64 key rows stay in cache while their columns are read)
        MatrixOps.shared().forRows(tiles, (long) cells * kvDim, (from, to) -> {
            for (int tile = from; tile < to; tile++) {
                int first = tile * TILE_KV;
                int n = Math.min(TILE_KV, cells - first);
                int o = first * kvDim;
                for (int c = 0; c < kvDim; c++, o += TILE_KV) {
                    for (int k = 0, src = first * kvDim + c; k < n; k++, src += kvDim) {
                        kt[o + k] = kc[src];
                    }
                }
            }
        });
        return kt;
    }

    /**
     * llama.cpp's {@code flash_attn_ext_tiled} for one query row (rows of a tile are independent): float
     * query, key tiles of 64 cells aligned at 0, fused multiply-adds in dimension order, vectorised
     * {@code expf}, the tile's probabilities summed 16 at a time into a double.
     */
    private void tiled(float[] q, int qOff, float[] kc, float[] tiledKeys, float[] vc, int kvOff, int pos,
                       float[] out, int outOff) {
        float[] vkq = acc;
        java.util.Arrays.fill(vkq, 0, headDim, 0f);
        float[] state = pairState; // the running maximum and sum
        state[0] = Float.NEGATIVE_INFINITY;
        state[1] = 0f;
        boolean byLanes = tiledKeys != null && TILED_BY_LANES;
        for (int ic = 0; ic <= pos; ic += TILE_KV) {
            if (byLanes) {
                // 16 (or 8) keys to a vector, each lane one key's chain of fused multiply-adds in dimension
                // order; 4 vectors at a time (the whole tile with 16 lanes, half of it with 8)
                for (int h = 0; h < TILE_KV; h += 4 * VL) {
                    int kt = (ic / TILE_KV * kvDim + kvOff) * TILE_KV + h;
                    FloatVector k0 = FloatVector.zero(LANES);
                    FloatVector k1 = k0;
                    FloatVector k2 = k0;
                    FloatVector k3 = k0;
                    for (int d = 0; d < headDim; d++, kt += TILE_KV) {
                        FloatVector qd = FloatVector.broadcast(LANES, q[qOff + d]);
                        k0 = FloatVector.fromArray(LANES, tiledKeys, kt).fma(qd, k0);
                        k1 = FloatVector.fromArray(LANES, tiledKeys, kt + VL).fma(qd, k1);
                        k2 = FloatVector.fromArray(LANES, tiledKeys, kt + 2 * VL).fma(qd, k2);
                        k3 = FloatVector.fromArray(LANES, tiledKeys, kt + 3 * VL).fma(qd, k3);
                    }
                    k0.mul(scale).intoArray(tile, h);
                    k1.mul(scale).intoArray(tile, h + VL);
                    k2.mul(scale).intoArray(tile, h + 2 * VL);
                    k3.mul(scale).intoArray(tile, h + 3 * VL);
                }
            }
            // without the tiled layout: the keys' chains eight at a time in scalar fused multiply-adds
            for (int tk = 0; tk < TILE_KV && !byLanes; tk++) {
                int t = ic + tk;
                if (t > pos) {
                    tile[tk] = Float.NEGATIVE_INFINITY;
                    continue;
                }
                int kOff = t * kvDim + kvOff;
                if (tk + 7 < TILE_KV && t + 7 <= pos) {
                    // eight keys at a time: eight independent chains of fused multiply-adds (enough to keep
                    // both FMA units busy through their latency), each in dimension order
                    float k0 = 0f;
                    float k1 = 0f;
                    float k2 = 0f;
                    float k3 = 0f;
                    float k4 = 0f;
                    float k5 = 0f;
                    float k6 = 0f;
                    float k7 = 0f;
                    for (int d = 0; d < headDim; d++) {
                        float qd = q[qOff + d];
                        int o = kOff + d;
                        k0 = Math.fma(kc[o], qd, k0);
                        k1 = Math.fma(kc[o + kvDim], qd, k1);
                        k2 = Math.fma(kc[o + 2 * kvDim], qd, k2);
                        k3 = Math.fma(kc[o + 3 * kvDim], qd, k3);
                        k4 = Math.fma(kc[o + 4 * kvDim], qd, k4);
                        k5 = Math.fma(kc[o + 5 * kvDim], qd, k5);
                        k6 = Math.fma(kc[o + 6 * kvDim], qd, k6);
                        k7 = Math.fma(kc[o + 7 * kvDim], qd, k7);
                    }
                    tile[tk] = k0 * scale;
                    tile[tk + 1] = k1 * scale;
                    tile[tk + 2] = k2 * scale;
                    tile[tk + 3] = k3 * scale;
                    tile[tk + 4] = k4 * scale;
                    tile[tk + 5] = k5 * scale;
                    tile[tk + 6] = k6 * scale;
                    tile[tk + 7] = k7 * scale;
                    tk += 7;
                    continue;
                }
                float kq = 0f;
                for (int d = 0; d < headDim; d++) {
                    kq = Math.fma(kc[kOff + d], q[qOff + d], kq);
                }
                tile[tk] = kq * scale;
            }
            int last = softmaxStep(tile, ic, pos, vkq, state, 0);
            int d = 0;
            if (LANES != null) {
                // each dimension still takes the tile's cells in order; only dimensions run side by side, 4
                // vectors at a time (four independent chains of multiply-adds), then one
                for (; d + 4 * VL <= headDim; d += 4 * VL) {
                    FloatVector a0 = FloatVector.fromArray(LANES, vkq, d);
                    FloatVector a1 = FloatVector.fromArray(LANES, vkq, d + VL);
                    FloatVector a2 = FloatVector.fromArray(LANES, vkq, d + 2 * VL);
                    FloatVector a3 = FloatVector.fromArray(LANES, vkq, d + 3 * VL);
                    for (int tk = 0; tk < last; tk++) {
                        FloatVector w = FloatVector.broadcast(LANES, tile[tk]);
                        int o = (ic + tk) * kvDim + kvOff + d;
                        a0 = w.fma(FloatVector.fromArray(LANES, vc, o), a0);
                        a1 = w.fma(FloatVector.fromArray(LANES, vc, o + VL), a1);
                        a2 = w.fma(FloatVector.fromArray(LANES, vc, o + 2 * VL), a2);
                        a3 = w.fma(FloatVector.fromArray(LANES, vc, o + 3 * VL), a3);
                    }
                    a0.intoArray(vkq, d);
                    a1.intoArray(vkq, d + VL);
                    a2.intoArray(vkq, d + 2 * VL);
                    a3.intoArray(vkq, d + 3 * VL);
                }
                for (; d + VL <= headDim; d += VL) {
                    FloatVector a = FloatVector.fromArray(LANES, vkq, d);
                    for (int tk = 0; tk < last; tk++) {
                        a = FloatVector.broadcast(LANES, tile[tk])
                                .fma(FloatVector.fromArray(LANES, vc, (ic + tk) * kvDim + kvOff + d), a);
                    }
                    a.intoArray(vkq, d);
                }
            }
            for (; d < headDim; d++) {
                float a = vkq[d];
                for (int tk = 0; tk < last; tk++) {
                    a = Math.fma(tile[tk], vc[(ic + tk) * kvDim + kvOff + d], a);
                }
                vkq[d] = a;
            }
        }
        float inv = state[1] == 0f ? 0f : 1f / state[1];
        for (int d = 0; d < headDim; d++) {
            out[outOff + d] = vkq[d] * inv;
        }
    }

    /**
     * {@link #attend} of two queries of one head at neighbouring positions of a prompt ({@code q[qOff..]} at
     * {@code pos}, {@code q[qOff2..]} at {@code pos + 1}), which share their keys and values. With the tiled
     * kernel and its key layout, and head dimensions a multiple of 16, both go through one pass over the
     * cache ({@link #tiledPair}); otherwise one after the other. The same bits as two {@link #attend} calls.
     * One thread of an Intel Xeon (Emerald Rapids), all 500 queries of one head over a 500-cell prompt, CPU
     * time: 64 dimensions 1.5-2.1 -> 1.2 ms, 128 dimensions 3.4-4.3 -> 2.0-2.1 ms; tiny-llama-q8_0's
     * 500-token prompt (attention ~30% of it before) ~50-55 -> ~42 ms.
     */
    void attendPair(float[] q, int qOff, int qOff2, float[] kc, float[] tiledKeys, float[] vc, int kvOff, int pos,
                    int batchTokens, int cacheCells, float[] out, int outOff, int outOff2) {
        if (batchTokens >= TILE_Q && tiledKeys != null && TILED_BY_LANES && headDim % VL == 0) {
            tiledPair(q, qOff, qOff2, tiledKeys, vc, kvOff, pos, out, outOff, outOff2);
            return;
        }
        attend(q, qOff, kc, tiledKeys, vc, kvOff, pos, batchTokens, cacheCells, out, outOff);
        attend(q, qOff2, kc, tiledKeys, vc, kvOff, pos + 1, batchTokens, cacheCells, out, outOff2);
    }

    /**
     * {@link #tiled} for queries A (at {@code pos}) and B (at {@code pos + 1}) at once: each tile's 16-key
     * vectors are loaded once for both, each value vector too, and the two queries' chains of fused
     * multiply-adds (8 where {@link #tiled} has 4) no longer wait on each other's latency. Each chain is
     * the one {@link #tiled} runs, in the same order; A skips the tile that only B reaches.
     */
    private void tiledPair(float[] q, int qOffA, int qOffB, float[] tiledKeys, float[] vc, int kvOff, int pos,
                           float[] out, int outOffA, int outOffB) {
        float[] vkqA = acc;
        float[] vkqB = acc2;
        float[] tileA = tile;
        float[] tileB = tile2;
        java.util.Arrays.fill(vkqA, 0, headDim, 0f);
        java.util.Arrays.fill(vkqB, 0, headDim, 0f);
        float[] state = pairState; // max and sum of A, then of B
        state[0] = Float.NEGATIVE_INFINITY;
        state[1] = 0f;
        state[2] = Float.NEGATIVE_INFINITY;
        state[3] = 0f;
        int posB = pos + 1;
        for (int ic = 0; ic <= posB; ic += TILE_KV) {
            for (int h = 0; h < TILE_KV; h += 4 * VL) {
                int kt = (ic / TILE_KV * kvDim + kvOff) * TILE_KV + h;
                FloatVector a0 = FloatVector.zero(LANES);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector b2 = a0;
                FloatVector b3 = a0;
                for (int d = 0; d < headDim; d++, kt += TILE_KV) {
                    FloatVector qa = FloatVector.broadcast(LANES, q[qOffA + d]);
                    FloatVector qb = FloatVector.broadcast(LANES, q[qOffB + d]);
                    FloatVector k0 = FloatVector.fromArray(LANES, tiledKeys, kt);
                    FloatVector k1 = FloatVector.fromArray(LANES, tiledKeys, kt + VL);
                    FloatVector k2 = FloatVector.fromArray(LANES, tiledKeys, kt + 2 * VL);
                    FloatVector k3 = FloatVector.fromArray(LANES, tiledKeys, kt + 3 * VL);
                    a0 = k0.fma(qa, a0);
                    a1 = k1.fma(qa, a1);
                    a2 = k2.fma(qa, a2);
                    a3 = k3.fma(qa, a3);
                    b0 = k0.fma(qb, b0);
                    b1 = k1.fma(qb, b1);
                    b2 = k2.fma(qb, b2);
                    b3 = k3.fma(qb, b3);
                }
                a0.mul(scale).intoArray(tileA, h);
                a1.mul(scale).intoArray(tileA, h + VL);
                a2.mul(scale).intoArray(tileA, h + 2 * VL);
                a3.mul(scale).intoArray(tileA, h + 3 * VL);
                b0.mul(scale).intoArray(tileB, h);
                b1.mul(scale).intoArray(tileB, h + VL);
                b2.mul(scale).intoArray(tileB, h + 2 * VL);
                b3.mul(scale).intoArray(tileB, h + 3 * VL);
            }
            int lastA = ic <= pos ? softmaxStep(tileA, ic, pos, vkqA, state, 0) : 0;
            int lastB = softmaxStep(tileB, ic, posB, vkqB, state, 2);
            int d = 0;
            for (; d + 4 * VL <= headDim; d += 4 * VL) {
                FloatVector va0 = FloatVector.fromArray(LANES, vkqA, d);
                FloatVector va1 = FloatVector.fromArray(LANES, vkqA, d + VL);
                FloatVector va2 = FloatVector.fromArray(LANES, vkqA, d + 2 * VL);
                FloatVector va3 = FloatVector.fromArray(LANES, vkqA, d + 3 * VL);
                FloatVector vb0 = FloatVector.fromArray(LANES, vkqB, d);
                FloatVector vb1 = FloatVector.fromArray(LANES, vkqB, d + VL);
                FloatVector vb2 = FloatVector.fromArray(LANES, vkqB, d + 2 * VL);
                FloatVector vb3 = FloatVector.fromArray(LANES, vkqB, d + 3 * VL);
                int tk = 0;
                for (; tk < lastA; tk++) {
                    FloatVector wa = FloatVector.broadcast(LANES, tileA[tk]);
                    FloatVector wb = FloatVector.broadcast(LANES, tileB[tk]);
                    int o = (ic + tk) * kvDim + kvOff + d;
                    FloatVector v0 = FloatVector.fromArray(LANES, vc, o);
                    FloatVector v1 = FloatVector.fromArray(LANES, vc, o + VL);
                    FloatVector v2 = FloatVector.fromArray(LANES, vc, o + 2 * VL);
                    FloatVector v3 = FloatVector.fromArray(LANES, vc, o + 3 * VL);
                    va0 = wa.fma(v0, va0);
                    va1 = wa.fma(v1, va1);
                    va2 = wa.fma(v2, va2);
                    va3 = wa.fma(v3, va3);
                    vb0 = wb.fma(v0, vb0);
                    vb1 = wb.fma(v1, vb1);
                    vb2 = wb.fma(v2, vb2);
                    vb3 = wb.fma(v3, vb3);
                }
                for (; tk < lastB; tk++) {
                    FloatVector wb = FloatVector.broadcast(LANES, tileB[tk]);
                    int o = (ic + tk) * kvDim + kvOff + d;
                    vb0 = wb.fma(FloatVector.fromArray(LANES, vc, o), vb0);
                    vb1 = wb.fma(FloatVector.fromArray(LANES, vc, o + VL), vb1);
                    vb2 = wb.fma(FloatVector.fromArray(LANES, vc, o + 2 * VL), vb2);
                    vb3 = wb.fma(FloatVector.fromArray(LANES, vc, o + 3 * VL), vb3);
                }
                va0.intoArray(vkqA, d);
                va1.intoArray(vkqA, d + VL);
                va2.intoArray(vkqA, d + 2 * VL);
                va3.intoArray(vkqA, d + 3 * VL);
                vb0.intoArray(vkqB, d);
                vb1.intoArray(vkqB, d + VL);
                vb2.intoArray(vkqB, d + 2 * VL);
                vb3.intoArray(vkqB, d + 3 * VL);
            }
            for (; d < headDim; d += VL) {
                FloatVector va = FloatVector.fromArray(LANES, vkqA, d);
                FloatVector vb = FloatVector.fromArray(LANES, vkqB, d);
                int tk = 0;
                for (; tk < lastA; tk++) {
                    FloatVector v = FloatVector.fromArray(LANES, vc, (ic + tk) * kvDim + kvOff + d);
                    va = FloatVector.broadcast(LANES, tileA[tk]).fma(v, va);
                    vb = FloatVector.broadcast(LANES, tileB[tk]).fma(v, vb);
                }
                for (; tk < lastB; tk++) {
                    vb = FloatVector.broadcast(LANES, tileB[tk])
                            .fma(FloatVector.fromArray(LANES, vc, (ic + tk) * kvDim + kvOff + d), vb);
                }
                va.intoArray(vkqA, d);
                vb.intoArray(vkqB, d);
            }
        }
        float invA = state[1] == 0f ? 0f : 1f / state[1];
        float invB = state[3] == 0f ? 0f : 1f / state[3];
        for (int d = 0; d < headDim; d++) {
            out[outOffA + d] = vkqA[d] * invA;
            out[outOffB + d] = vkqB[d] * invB;
        }
    }

    /**
     * The steps of {@link #tiled} and {@link #tiledPair} between a tile's key scores and its value sums, for
     * one query at {@code pos}:
     * masks the cells past it, takes the new maximum (rescaling {@code vkq} and the sum when it grows),
     * turns the scores in {@code tile} into probabilities and adds them to the sum. The running maximum and
     * sum are {@code state[at]} and {@code state[at + 1]}. Returns the tile's cells up to {@code pos}.
     */
    private int softmaxStep(float[] tile, int ic, int pos, float[] vkq, float[] state, int at) {
        float tileMax = Float.NEGATIVE_INFINITY;
        if (ic + TILE_KV - 1 <= pos) {
            // a whole tile: its maximum by vectors (the largest value, whatever the order)
            FloatVector max = FloatVector.fromArray(EXP_LANES, tile, 0);
            for (int i = EXP_LANES.length(); i < TILE_KV; i += EXP_LANES.length()) {
                max = max.max(FloatVector.fromArray(EXP_LANES, tile, i));
            }
            tileMax = max.reduceLanes(VectorOperators.MAX);
        } else {
            for (int tk = 0; tk < TILE_KV; tk++) {
                if (ic + tk > pos) {
                    tile[tk] = Float.NEGATIVE_INFINITY;
                } else {
                    tileMax = Math.max(tileMax, tile[tk]);
                }
            }
        }
        float m = state[at];
        float s = state[at + 1];
        float mNew = Math.max(m, tileMax);
        if (mNew > m) {
            float ms = expf(m - mNew);
            for (int d = 0; d < headDim; d++) {
                vkq[d] *= ms;
            }
            s *= ms;
        }
        double tileSum = 0;
        FloatVector max = FloatVector.broadcast(EXP_LANES, mNew);
        for (int i = 0; i < TILE_KV; i += EXP_LANES.length()) {
            LlamaCppMath.vExpf(FloatVector.fromArray(EXP_LANES, tile, i).sub(max)).intoArray(tile, i);
        }
        for (int i = 0; i < TILE_KV; i += 16) {
            tileSum += LlamaCppMath.reduceAdd16(tile, i);
        }
        state[at] = mNew;
        state[at + 1] = (float) (s + tileSum);
        return Math.min(TILE_KV, pos + 1 - ic);
    }

    /** glibc's {@code expf}, which is correctly rounded in practice; so is exp in double, rounded once. */
    private static float expf(float x) {
        return (float) Math.exp(x);
    }
}
