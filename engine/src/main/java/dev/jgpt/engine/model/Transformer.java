package dev.jgpt.engine.model;

import dev.jgpt.engine.tensor.FloatTensor;
import dev.jgpt.engine.tensor.MatrixOps;

/**
 * The forward pass of Llama-family transformers (Llama 2/3, Mistral, Qwen2, Qwen3): RMSNorm, attention
 * with grouped key/value heads and rotary embeddings, SwiGLU feed-forward. Tokens are processed in chunks,
 * so a prompt costs matrix-matrix products instead of one matrix-vector product per token.
 *
 * <p>The arithmetic follows llama.cpp's CPU backend rounding for rounding wherever that is cheap (RMSNorm,
 * RoPE angles, SwiGLU's vectorised exp, flash attention, Q8_0 activation quantization and integer dot
 * products; see {@link LlamaCppMath}, {@link FlashAttention}, {@link Q8_0Activations}): llama.cpp is the
 * reference jgpt is tested against, and on the random-weight test models tiny rounding differences that
 * reach an 8-bit activation quantizer grow into visible log-probability differences.
 */
public final class Transformer {
    /** Tokens llama.cpp puts in one batch (its default n_ubatch); attention's code path depends on it. */
    private static final int LLAMA_CPP_UBATCH = 512;
    /**
     * Work units ({@link MatrixOps#forRows}' multiply-adds) of one SiLU and product, and of one norm or RoPE
     * value.
     */
    private static final long SILU_WORK = 16;
    private static final long NORM_WORK = 4;
    /** Work units of one sine and cosine pair of {@link #computeRope} (software, like glibc's). */
    private static final long SINCOS_WORK = 64;
    /**
     * Tokens a single sequence evaluates per pass; bounds the scratch space a lone sequence needs. As many as
     * the server's prefill chunk ({@code EngineTextModel.PREFILL_CHUNK}): 64 had split the 128-token prompts of
     * {@code jgpt bench} in two, so every matrix was read and every pool job dispatched twice. Two Intel Xeon
     * (Emerald Rapids) threads, 128-token prompts, tokens/s, 64 against 128 (alternating runs): tiny-qwen3-f16
     * 26 633-26 741 -> 29 750-30 059, tiny-llama-q8_0 38 891-39 011 -> 43 585-43 870, tiny-llama-q4_k_m
     * 36 207-38 724 -> 37 680-40 884, bench-llama-f16 404 -> 424-427, bench-llama-q8_0 297-302 -> 312-317,
     * bench-llama-q4_k_m 319-321 -> 329-332. 500-token prompts, one run each of 64 / 128 / 256 / 512:
     * tiny-qwen3-f16 22 100 / 26 207 / 27 516 / 28 502, tiny-llama-q4_k_m 31 479 / 35 418 / 34 071 / 32 706.
     */
    private static final int SINGLE_SEQUENCE_CHUNK = 128;

    /**
     * Weights above this size stream from DRAM on every token (the tiny test models, 10-20 MB, stay in the
     * caches of the machines measured; the 24-layer benchmark models, 208 MB and up, do not).
     */
    static final long STREAMED_BYTES = 64L << 20;

    private final ModelConfig config;
    private final TransformerWeights weights;
    /** powf(base, -2/ropeDims): each rotated pair's angle is the previous pair's times this. */
    private final float ropeThetaScale;
    /**
     * Whether the weights are too big to stay in the caches between tokens, so that the Q8_0 kernels load
     * the next rows ahead ({@link Q8_0Activations#lookAhead}), and so do the dequantizing products of
     * batches ({@link ForwardBatch#cached}); single F16 tokens are then multiplied without converting rows
     * first, except on Intel CPUs (see {@code MatrixOps.CONVERT_STREAMED_F16}).
     */
    private final boolean streamed;

    public Transformer(ModelConfig config, TransformerWeights weights) {
        this.config = config;
        this.weights = weights;
        this.ropeThetaScale = (float) Math.pow(config.ropeBase(), -2.0f / config.ropeDims());
        this.streamed = weights.matrixBytes() > STREAMED_BYTES;
    }

    public ModelConfig config() {
        return config;
    }

    public TransformerWeights weights() {
        return weights;
    }

    /** A fresh sequence state holding up to {@code capacity} positions. */
    public InferenceState newState(int capacity) {
        if (capacity <= 0 || capacity > config.contextLength()) {
            throw new IllegalArgumentException("context size " + capacity + " must be between 1 and the model's "
                    + config.contextLength());
        }
        return new InferenceState(config, capacity);
    }

    /**
     * Scratch space for forward passes over up to {@code maxSegments} sequences and {@code maxTokens}
     * stacked tokens in all (see {@link #forward(ForwardBatch)}).
     */
    public ForwardBatch newBatch(int maxTokens, int maxSegments) {
        return new ForwardBatch(config, maxTokens, maxSegments);
    }

    /**
     * Tokens llama.cpp's batch would hold for the token at index {@code done} of an evaluation of
     * {@code total} tokens of one sequence: llama.cpp splits them into batches of {@value #LLAMA_CPP_UBATCH}.
     * Pass it to {@link ForwardBatch#add} for a chunk starting at {@code done}.
     */
    public static int llamaBatchTokens(int total, int done) {
        return Math.min(LLAMA_CPP_UBATCH, total - done / LLAMA_CPP_UBATCH * LLAMA_CPP_UBATCH);
    }

    /**
     * Appends {@code tokens[offset .. offset + n)} to the sequence and leaves the logits of the last one in
     * {@link InferenceState#logits()}.
     */
    public void forward(InferenceState s, int[] tokens, int offset, int n) {
        if (s.position() + n > s.capacity) {
            throw new ContextOverflowException(s.position() + n, s.capacity);
        }
        for (int t = offset; t < offset + n; t++) {
            if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[t] + " is outside the vocabulary (0.."
                        + (config.vocabSize() - 1) + ")");
            }
        }
        ForwardBatch batch = s.ownBatch(Math.min(s.capacity, SINGLE_SEQUENCE_CHUNK));
        int done = 0;
        while (done < n) {
            int chunk = Math.min(batch.maxTokens, n - done);
            batch.add(s, tokens, offset + done, chunk, llamaBatchTokens(n, done), done + chunk == n);
            forward(batch);
            done += chunk;
        }
    }

    /**
     * One pass over every segment of {@code b}: each weight matrix is multiplied once by all segments'
     * tokens stacked, attention runs per segment over its own cache, each segment's sequence advances by
     * its tokens, and segments that asked for logits get those of their last token. The batch is empty
     * afterwards.
     *
     * <p>Each sequence's results are those of running it alone, bit for bit, wherever a product treats
     * every stacked row on its own: Q8_0 weights (activations quantized per 32-value block of one row,
     * then per-row integer dot products) and Q6_K weights. They may differ in the last float bits where a
     * kernel's rounding depends on how many rows it gets: Q4_K products take llama.cpp's gemm kernel for
     * tokens in whole groups of four and its gemv kernel for the rest (so a decoding token stacked with
     * others may switch kernel), and float-activation types switch to dequantize-once tiled products from
     * two rows on. These are the same differences llama.cpp itself shows between batched and single
     * decoding.
     */
    public void forward(ForwardBatch b) {
        if (b.config != config) {
            throw new IllegalArgumentException("the batch was made for another model");
        }
        try {
            if (b.segments > 0) {
                b.q8.lookAhead = streamed;
                b.cached = !streamed;
                forwardStacked(b);
            }
        } finally {
            b.clear();
        }
    }

    private void forwardStacked(ForwardBatch b) {
        ModelConfig c = config;
        int dim = c.dim();
        int qDim = c.queryDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        int n = b.tokens;

        for (int seg = 0; seg < b.segments; seg++) {
            int start = b.states[seg].position();
            for (int i = 0; i < b.length[seg]; i++) {
                b.rowPosition[b.firstRow[seg] + i] = start + i;
            }
        }
        for (int i = 0; i < n; i++) {
            weights.tokenEmbedding().dequantize((long) b.rowToken[i] * dim, b.x, i * dim, dim);
        }
        computeRope(b, n);

        for (int l = 0; l < c.layers(); l++) {
            TransformerWeights.Layer w = weights.layers()[l];

            rmsnormRows(b.xb, b.x, w.attentionNorm(), n, dim);
            matmul(b, w.wq(), b.xb, n, b.q, qDim, dim);
            matmul(b, w.wk(), b.xb, n, b.k, kvDim, dim, sameInput(w.wq(), qDim, w.wk(), kvDim, dim));
            matmul(b, w.wv(), b.xb, n, b.v, kvDim, dim, sameInput(w.wk(), kvDim, w.wv(), kvDim, dim));
            if (w.bq() != null) {
                addBias(b.q, w.bq(), n, qDim);
                addBias(b.k, w.bk(), n, kvDim);
                addBias(b.v, w.bv(), n, kvDim);
            }
            if (w.qNorm() != null) {
                rmsnormRows(b.q, b.q, w.qNorm(), n * c.heads(), c.headDim());
                rmsnormRows(b.k, b.k, w.kNorm(), n * c.kvHeads(), c.headDim());
            }
            applyRope(b, b.q, n, c.heads());
            applyRope(b, b.k, n, c.kvHeads());

            for (int seg = 0; seg < b.segments; seg++) {
                InferenceState s = b.states[seg];
                int start = s.position();
                int rows = b.length[seg];
                int from = b.firstRow[seg] * kvDim;
                // The cache stores F16-rounded values, as llama.cpp's default F16 cache does.
                float[] kc = s.keyCache[l];
                float[] vc = s.valueCache[l];
                LlamaCppMath.roundF16Into(b.k, from, kc, start * kvDim, rows * kvDim);
                LlamaCppMath.roundF16Into(b.v, from, vc, start * kvDim, rows * kvDim);
            }
            attention(b, l);

            matmul(b, w.wo(), b.attOut, n, b.xb, dim, qDim);
            for (int i = 0; i < n * dim; i++) {
                b.x[i] += b.xb[i];
            }

            rmsnormRows(b.xb, b.x, w.ffnNorm(), n, dim);
            matmul(b, w.ffnGate(), b.xb, n, b.hb, hidden, dim);
            matmul(b, w.ffnUp(), b.xb, n, b.hb2, hidden, dim, sameInput(w.ffnGate(), hidden, w.ffnUp(), hidden, dim));
            // element-wise, so split across the pool by tokens
            MatrixOps.shared().forRows(n, (long) n * hidden * SILU_WORK,
                    (from, to) -> LlamaCppMath.siluTimes(b.hb, b.hb2, from * hidden, to * hidden));
            matmul(b, w.ffnDown(), b.hb, n, b.xb, dim, hidden);
            for (int i = 0; i < n * dim; i++) {
                b.x[i] += b.xb[i];
            }
        }
        for (int seg = 0; seg < b.segments; seg++) {
            b.states[seg].advance(b.length[seg]);
        }
        computeLogits(b);
    }

    /** Output norm and projection of the last token of every segment that asks for logits, in one product. */
    private void computeLogits(ForwardBatch b) {
        int dim = config.dim();
        int vocab = config.vocabSize();
        int rows = 0;
        int only = -1;
        for (int seg = 0; seg < b.segments; seg++) {
            if (b.wantsLogits[seg]) {
                int last = (b.firstRow[seg] + b.length[seg] - 1) * dim;
                rmsnorm(b.xb, rows * dim, b.x, last, weights.outputNorm(), dim, config.rmsEps());
                rows++;
                only = seg;
            }
        }
        if (rows == 0) {
            return;
        }
        if (rows == 1) {
            matmul(b, weights.output(), b.xb, 1, b.states[only].logits, vocab, dim);
            return;
        }
        matmul(b, weights.output(), b.xb, rows, b.logitRows, vocab, dim);
        int row = 0;
        for (int seg = 0; seg < b.segments; seg++) {
            if (b.wantsLogits[seg]) {
                System.arraycopy(b.logitRows, row++ * vocab, b.states[seg].logits, 0, vocab);
            }
        }
    }

    /**
     * Attention of every stacked token and head over its own sequence's cache of {@code layer}, split
     * across the thread pool by (token, head); each (token, head) is computed as when run alone.
     */
    private void attention(ForwardBatch b, int layer) {
        ModelConfig c = config;
        int heads = c.heads();
        int headDim = c.headDim();
        int qDim = c.queryDim();
        int group = heads / c.kvHeads();
        long work = 0;
        for (int seg = 0; seg < b.segments; seg++) {
            work += (long) b.length[seg] * (b.states[seg].position() + b.length[seg]) * heads * headDim * 2;
        }
        if (FlashAttention.TILED_BY_LANES) {
            for (int seg = 0; seg < b.segments; seg++) {
                if (b.llamaBatchTokens[seg] >= FlashAttention.TILE_Q) {
                    InferenceState s = b.states[seg];
                    b.tiledKeys[seg] = FlashAttention.tileKeys(s.keyCache[layer], c.kvDim(),
                            s.position() + b.length[seg], b.tiledKeys[seg]);
                }
            }
        }
        MatrixOps.shared().forRows(b.tokens * heads, work, (from, to) -> {
            FlashAttention attention = b.attention.get();
            int seg = 0;
            for (int r = from; r < to; r++) {
                int row = r / heads;
                int h = r % heads;
                while (row >= b.firstRow[seg] + b.length[seg]) {
                    seg++;
                }
                InferenceState s = b.states[seg];
                int off = row * qDim + h * headDim;
                int inSegment = row - b.firstRow[seg];
                if (b.llamaBatchTokens[seg] >= FlashAttention.TILE_Q) {
                    // a prompt's rows go in pairs of neighbouring tokens, which share the head's keys and values
                    if (inSegment % 2 == 1) {
                        continue; // done with the row before it
                    }
                    if (inSegment + 1 < b.length[seg]) {
                        attention.attendPair(b.q, off, off + qDim, s.keyCache[layer], b.tiledKeys[seg],
                                s.valueCache[layer], (h / group) * headDim, s.position() + inSegment,
                                b.llamaBatchTokens[seg], s.capacity, b.attOut, off, off + qDim);
                        continue;
                    }
                }
                attention.attend(b.q, off, s.keyCache[layer], b.tiledKeys[seg], s.valueCache[layer],
                        (h / group) * headDim, s.position() + inSegment, b.llamaBatchTokens[seg],
                        s.capacity, b.attOut, off);
            }
        });
    }

    /**
     * RoPE cos/sin per position and pair, as ggml_rope_cache_init: the angle starts at the position and is
     * multiplied by the theta scale pair after pair, in float, then divided by the pair's frequency factor
     * and multiplied by the linear scaling factor.
     */
    private void computeRope(ForwardBatch s, int n) {
        int half = config.ropeDims() / 2;
        // by tokens across the pool: a prompt's sines and cosines are thousands of software sincosf
        MatrixOps.shared().forRows(n, (long) n * half * SINCOS_WORK, (from, to) -> computeRope(s, half, from, to));
    }

    private void computeRope(ForwardBatch s, int half, int from, int to) {
        float[] factors = weights.ropeFreqFactors();
        for (int i = from; i < to; i++) {
            float theta = (float) s.rowPosition[i];
            for (int j = 0; j < half; j++) {
                float t = factors != null ? theta / factors[j] : theta;
                t = config.ropeScale() * t;
                s.ropeCos[i * half + j] = LlamaCppMath.cosf(t);
                s.ropeSin[i * half + j] = LlamaCppMath.sinf(t);
                theta *= ropeThetaScale;
            }
        }
    }

    private void applyRope(ForwardBatch s, float[] vec, int n, int heads) {
        MatrixOps.shared().forRows(n, (long) n * heads * config.headDim() * NORM_WORK,
                (from, to) -> applyRope(s, vec, heads, from, to));
    }

    private void applyRope(ForwardBatch s, float[] vec, int heads, int from, int to) {
        int headDim = config.headDim();
        int half = config.ropeDims() / 2;
        boolean neox = config.architecture().ropeType() == Architecture.RopeType.NEOX;
        for (int i = from; i < to; i++) {
            for (int h = 0; h < heads; h++) {
                int base = (i * heads + h) * headDim;
                for (int j = 0; j < half; j++) {
                    float cos = s.ropeCos[i * half + j];
                    float sin = s.ropeSin[i * half + j];
                    int a = neox ? base + j : base + 2 * j;
                    int b = neox ? base + j + half : base + 2 * j + 1;
                    float x0 = vec[a];
                    float x1 = vec[b];
                    // ggml writes x0*cos - x1*sin and x0*sin + x1*cos; GCC fuses the first product of each
                    vec[a] = Math.fma(x0, cos, -(x1 * sin));
                    vec[b] = Math.fma(x0, sin, x1 * cos);
                }
            }
        }
    }

    private static void addBias(float[] out, float[] bias, int n, int d) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                out[i * d + j] += bias[j];
            }
        }
    }

    /**
     * {@link #rmsnorm} of {@code rows} rows of {@code size} values, {@code x} into {@code out} (which may be
     * {@code x}), split across the pool when there are enough of them.
     */
    private void rmsnormRows(float[] out, float[] x, float[] weight, int rows, int size) {
        float eps = config.rmsEps();
        MatrixOps.shared().forRows(rows, (long) rows * size * NORM_WORK, (from, to) -> {
            for (int i = from; i < to; i++) {
                rmsnorm(out, i * size, x, i * size, weight, size, eps);
            }
        });
    }

    /** RMSNorm with llama.cpp's rounding: squares summed in double, the scale and products in float. */
    static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int size, float eps) {
        double ss = 0;
        for (int i = 0; i < size; i++) {
            float v = x[xOff + i];
            ss += v * v;
        }
        float mean = (float) (ss / size);
        float scale = 1f / (float) Math.sqrt(mean + eps);
        for (int i = 0; i < size; i++) {
            out[outOff + i] = (x[xOff + i] * scale) * weight[i];
        }
    }

    /** The activations a product takes: what {@link #matmul} quantizes its input to. */
    private enum Input { Q8_0, Q8_K, Q4_0, ROUNDED }

    private static Input input(FloatTensor w, int rows, int cols) {
        if (Q8_0Activations.handles(w.type()) && cols % 32 == 0) {
            return Input.Q8_0;
        }
        if (Q8_KActivations.handles(w.type(), rows) && cols % 256 == 0) {
            return Input.Q8_K;
        }
        if (Q4_0Activations.handles(w.type(), rows) && cols % 32 == 0) {
            return Input.Q4_0;
        }
        return Input.ROUNDED;
    }

    /**
     * Whether a product with {@code next}, right after one with {@code previous} on the same input, can
     * reuse its quantized activations (products only read them): both take the same kind of input, and for
     * rounded float activations the same weight type (the rounding depends on it). Quantizing 256 floats to
     * Q8_0 costs ~0.45 us on one thread; this saves three of them per layer.
     */
    private static boolean sameInput(FloatTensor previous, int previousRows, FloatTensor next, int rows, int cols) {
        Input kind = input(next, rows, cols);
        return kind == input(previous, previousRows, cols) && (kind != Input.ROUNDED || next.type() == previous.type());
    }

    /**
     * {@code out[t*rows + r] = W[r] · x[t]}. Q8_0, Q4_0, Q4_K and Q6_K weights go through llama.cpp's own
     * scheme (activations quantized to Q8_0 or Q8_K, integer block sums, llama.cpp's float accumulation
     * order); other types multiply float activations rounded as llama.cpp would see them.
     */
    static void matmul(ForwardBatch s, FloatTensor w, float[] x, int n, float[] out, int rows, int cols) {
        matmul(s, w, x, n, out, rows, cols, false);
    }

    /**
     * {@link #matmul(ForwardBatch, FloatTensor, float[], int, float[], int, int)}; with {@code quantized}
     * set, the batch's Q8_0, Q8_K or Q4_0 activations, or its rounded ones, already hold {@code x} (see
     * {@link #sameInput}).
     */
    private static void matmul(ForwardBatch s, FloatTensor w, float[] x, int n, float[] out, int rows, int cols,
                               boolean quantized) {
        switch (input(w, rows, cols)) {
            case Q8_0 -> {
                if (!quantized) {
                    s.q8.quantize(x, n * cols);
                }
                s.q8.matmul(w, n, out, rows, cols);
            }
            case Q8_K -> {
                if (!quantized) {
                    s.q8k.quantize(x, n * cols);
                }
                s.q8k.matmul(w, n, out, rows, cols);
            }
            case Q4_0 -> {
                if (!quantized) {
                    s.q4.quantize(x, n * cols);
                }
                s.q4.matmul(w, n, out, rows, cols);
            }
            case ROUNDED -> {
                if (!quantized) {
                    s.lastRounded = ActivationQuantizer.roundLikeLlamaCpp(w.type(), x, n * cols, s.rounded);
                }
                MatrixOps.shared().matmul(w, s.lastRounded, n, out, rows, cols, s.cached);
            }
        }
    }
}
