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

    private final ModelConfig config;
    private final TransformerWeights weights;
    /** powf(base, -2/ropeDims): each rotated pair's angle is the previous pair's times this. */
    private final float ropeThetaScale;

    public Transformer(ModelConfig config, TransformerWeights weights) {
        this.config = config;
        this.weights = weights;
        this.ropeThetaScale = (float) Math.pow(config.ropeBase(), -2.0f / config.ropeDims());
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
        return new InferenceState(config, capacity, Math.min(capacity, 64));
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
        int done = 0;
        while (done < n) {
            int chunk = Math.min(s.maxChunk, n - done);
            // the llama.cpp batch these tokens would be in (n is split into batches of LLAMA_CPP_UBATCH)
            int batchTokens = Math.min(LLAMA_CPP_UBATCH, n - done / LLAMA_CPP_UBATCH * LLAMA_CPP_UBATCH);
            forwardChunk(s, tokens, offset + done, chunk, batchTokens, done + chunk == n);
            done += chunk;
        }
    }

    private void forwardChunk(InferenceState s, int[] tokens, int offset, int n, int batchTokens,
                              boolean computeLogits) {
        ModelConfig c = config;
        int dim = c.dim();
        int qDim = c.queryDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        int start = s.position();

        for (int i = 0; i < n; i++) {
            weights.tokenEmbedding().dequantize((long) tokens[offset + i] * dim, s.x, i * dim, dim);
        }
        computeRope(s, start, n);

        for (int l = 0; l < c.layers(); l++) {
            TransformerWeights.Layer w = weights.layers()[l];

            for (int i = 0; i < n; i++) {
                rmsnorm(s.xb, i * dim, s.x, i * dim, w.attentionNorm(), dim, c.rmsEps());
            }
            matmul(s, w.wq(), s.xb, n, s.q, qDim, dim);
            matmul(s, w.wk(), s.xb, n, s.k, kvDim, dim);
            matmul(s, w.wv(), s.xb, n, s.v, kvDim, dim);
            if (w.bq() != null) {
                addBias(s.q, w.bq(), n, qDim);
                addBias(s.k, w.bk(), n, kvDim);
                addBias(s.v, w.bv(), n, kvDim);
            }
            if (w.qNorm() != null) {
                for (int h = 0; h < n * c.heads(); h++) {
                    rmsnorm(s.q, h * c.headDim(), s.q, h * c.headDim(), w.qNorm(), c.headDim(), c.rmsEps());
                }
                for (int h = 0; h < n * c.kvHeads(); h++) {
                    rmsnorm(s.k, h * c.headDim(), s.k, h * c.headDim(), w.kNorm(), c.headDim(), c.rmsEps());
                }
            }
            applyRope(s, s.q, n, c.heads());
            applyRope(s, s.k, n, c.kvHeads());

            // The cache stores F16-rounded values, as llama.cpp's default F16 cache does.
            float[] kc = s.keyCache[l];
            float[] vc = s.valueCache[l];
            for (int i = 0; i < n * kvDim; i++) {
                kc[start * kvDim + i] = LlamaCppMath.roundF16(s.k[i]);
                vc[start * kvDim + i] = LlamaCppMath.roundF16(s.v[i]);
            }

            attention(s, kc, vc, start, n, batchTokens);

            matmul(s, w.wo(), s.attOut, n, s.xb, dim, qDim);
            for (int i = 0; i < n * dim; i++) {
                s.x[i] += s.xb[i];
            }

            for (int i = 0; i < n; i++) {
                rmsnorm(s.xb, i * dim, s.x, i * dim, w.ffnNorm(), dim, c.rmsEps());
            }
            matmul(s, w.ffnGate(), s.xb, n, s.hb, hidden, dim);
            matmul(s, w.ffnUp(), s.xb, n, s.hb2, hidden, dim);
            for (int i = 0; i < n * hidden; i++) {
                s.hb[i] = LlamaCppMath.silu(s.hb[i]) * s.hb2[i];
            }
            matmul(s, w.ffnDown(), s.hb, n, s.xb, dim, hidden);
            for (int i = 0; i < n * dim; i++) {
                s.x[i] += s.xb[i];
            }
        }
        s.advance(n);

        if (computeLogits) {
            int last = (n - 1) * dim;
            rmsnorm(s.xb, 0, s.x, last, weights.outputNorm(), dim, c.rmsEps());
            matmul(s, weights.output(), s.xb, 1, s.logits, c.vocabSize(), dim);
        }
    }

    private void attention(InferenceState s, float[] kc, float[] vc, int start, int n, int batchTokens) {
        ModelConfig c = config;
        int headDim = c.headDim();
        int qDim = c.queryDim();
        int group = c.heads() / c.kvHeads();
        FlashAttention fa = new FlashAttention(headDim, c.kvDim());
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < c.heads(); h++) {
                int off = i * qDim + h * headDim;
                fa.attend(s.q, off, kc, vc, (h / group) * headDim, start + i, batchTokens, s.capacity,
                        s.attOut, off);
            }
        }
    }

    /**
     * RoPE cos/sin per position and pair, as ggml_rope_cache_init: the angle starts at the position and is
     * multiplied by the theta scale pair after pair, in float, then divided by the pair's frequency factor
     * and multiplied by the linear scaling factor.
     */
    private void computeRope(InferenceState s, int start, int n) {
        int half = config.ropeDims() / 2;
        float[] factors = weights.ropeFreqFactors();
        for (int i = 0; i < n; i++) {
            float theta = (float) (start + i);
            for (int j = 0; j < half; j++) {
                float t = factors != null ? theta / factors[j] : theta;
                t = config.ropeScale() * t;
                s.ropeCos[i * half + j] = LlamaCppMath.cosf(t);
                s.ropeSin[i * half + j] = LlamaCppMath.sinf(t);
                theta *= ropeThetaScale;
            }
        }
    }

    private void applyRope(InferenceState s, float[] vec, int n, int heads) {
        int headDim = config.headDim();
        int half = config.ropeDims() / 2;
        boolean neox = config.architecture().ropeType() == Architecture.RopeType.NEOX;
        for (int i = 0; i < n; i++) {
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

    /**
     * {@code out[t*rows + r] = W[r] · x[t]}. Q8_0, Q4_K and Q6_K weights go through llama.cpp's own
     * scheme (activations quantized to Q8_0 or Q8_K, integer block sums, llama.cpp's float accumulation
     * order); other types multiply float activations rounded as llama.cpp would see them.
     */
    private static void matmul(InferenceState s, FloatTensor w, float[] x, int n, float[] out, int rows, int cols) {
        if (Q8_0Activations.handles(w.type()) && cols % 32 == 0) {
            s.q8.quantize(x, n * cols);
            s.q8.matmul(w, n, out, rows, cols);
            return;
        }
        if (Q8_KActivations.handles(w.type(), rows) && cols % 256 == 0) {
            s.q8k.quantize(x, n * cols);
            s.q8k.matmul(w, n, out, rows, cols);
            return;
        }
        float[] xr = ActivationQuantizer.roundLikeLlamaCpp(w.type(), x, n * cols, s.rounded);
        MatrixOps.shared().matmul(w, xr, n, out, rows, cols);
    }
}
