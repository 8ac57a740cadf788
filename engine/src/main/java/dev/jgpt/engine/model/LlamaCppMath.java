package dev.jgpt.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Scalar replicas of the float arithmetic of llama.cpp's x86 CPU backend (the AVX-512 "zen4"/"icelake"
 * builds that its prebuilt libraries pick on current x86 servers), operation for operation and rounding
 * for rounding.
 *
 * <p>Why bother: jgpt's parity tests compare log-probabilities with llama.cpp's on small random-weight
 * models, and those amplify every difference. Where values feed llama.cpp's 8-bit activation quantizer, a
 * one-ulp difference can flip a rounding and the flips snowball; reproducing the exact order of additions,
 * the fused multiply-adds and the vectorised {@code expf} keeps jgpt bit-identical (or nearly) instead of
 * merely close.
 */
final class LlamaCppMath {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private LlamaCppMath() {
    }

    static float roundF16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    /** Values {@link #roundF16Into} converts at a time, through {@link #HALVES}. */
    static final int ROUND_CHUNK = 4096;
    /** Each thread's halves on their way through {@link #roundF16Into}. */
    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[ROUND_CHUNK]);

    /**
     * {@code dst[to + i] = roundF16(src[from + i])} for {@code i < len}: F16 cache writes, F16 products. Two
     * plain loops per chunk, floats to halves and halves back, which C2 turns into the hardware conversions
     * 16 at a time (one loop doing both stayed scalar); one Intel Xeon thread, 32 768 values: 0.19 ns per
     * value against 0.35 for the bit manipulation {@link #roundF16Lanes} did then. The same values as
     * {@link #roundF16} one at a time, by definition.
     */
    static void roundF16Into(float[] src, int from, float[] dst, int to, int len) {
        short[] h = HALVES.get();
        for (int done = 0; done < len; done += ROUND_CHUNK) {
            int m = Math.min(ROUND_CHUNK, len - done);
            int s = from + done;
            int d = to + done;
            for (int i = 0; i < m; i++) {
                h[i] = Float.floatToFloat16(src[s + i]);
            }
            for (int i = 0; i < m; i++) {
                dst[d + i] = Float.float16ToFloat(h[i]);
            }
        }
    }

    /**
     * {@link #roundF16} lane by lane (the Vector API has no half conversion): adding and removing
     * {@code 1.5 * 2^(e + 13)}, where {@code 2^e} is the value's power of two but at least {@code 2^-14}, rounds
     * its magnitude to a multiple of {@code 2^(e - 10)} (its sum with that constant stays in one binade, whose
     * unit that is) to nearest even: eleven significant bits in the halves' normal range, multiples of
     * {@code 2^-24} below it (their subnormals). From 65520 on, infinity; NaNs pass. Twelve operations where
     * rounding the bits as integers (the normal range and the subnormals apart, then chosen) took seventeen:
     * one Zen 4 thread, one query over 160 / 400 / 1024 cells of a 64-dimension head (flash attention's value
     * sums are rounded at every cell), 3 alternating pairs of runs, ns per cell 33.0-33.8 / 33.0-35.6 / 37.2-41.1
     * -> 30.7-33.6 / 31.3-34.4 / 34.8-37.6.
     */
    static FloatVector roundF16Lanes(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        IntVector abs = bits.and(0x7fffffff);
        FloatVector magic = abs.and(0x7f800000).max(0x38800000).add((13 << 23) + 0x00400000).reinterpretAsFloats();
        IntVector rounded = abs.reinterpretAsFloats().add(magic).sub(magic).reinterpretAsInts()
                .blend(0x7f800000, abs.compare(VectorOperators.GE, 0x477ff000))
                .or(bits.and(0x80000000));
        return rounded.blend(bits, abs.compare(VectorOperators.GT, 0x7f800000)).reinterpretAsFloats();
    }

    /**
     * ggml's vectorised {@code expf} ({@code ggml_v_expf}, AVX-512 form): a degree-5 polynomial on the
     * reduced argument, scaled by {@code 2^n} with {@code vscalefps}; not correctly rounded (≈1.5 ulp), so
     * {@link Math#exp} gives different bits.
     */
    static float vExpf(float x) {
        final float r = 0x1.8p23f;
        float z = Math.fma(x, 0x1.715476p+0f, r);
        float n = z - r;
        float b = Math.fma(-n, 0x1.7f7d1cp-20f, Math.fma(-n, 0x1.62e4p-1f, x));
        if (Math.abs(n) > 192f || Float.isNaN(n)) {
            return Float.isNaN(n) ? Float.NaN : (n <= 0f ? 0f : Float.POSITIVE_INFINITY);
        }
        float u = b * b;
        float j = Math.fma(
                Math.fma(Math.fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, Math.fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                u,
                Math.fma(0x1.ffffecp-1f, b, 1.0f));
        return Math.scalb(j, (int) n);
    }

    /**
     * {@link #vExpf(float)} on every lane, same bits: {@code 2^n} is applied as two exact power-of-two
     * factors (|n| <= 192 splits into halves within the float exponent range), so only the last product
     * rounds, as {@code vscalefps} and {@link Math#scalb} do.
     */
    static FloatVector vExpf(FloatVector x) {
        VectorSpecies<Float> sp = x.species();
        FloatVector r = FloatVector.broadcast(sp, 0x1.8p23f);
        FloatVector n = x.fma(FloatVector.broadcast(sp, 0x1.715476p+0f), r).sub(r);
        FloatVector negN = n.neg();
        FloatVector b = negN.fma(FloatVector.broadcast(sp, 0x1.7f7d1cp-20f),
                negN.fma(FloatVector.broadcast(sp, 0x1.62e4p-1f), x));
        FloatVector u = b.mul(b);
        FloatVector j = FloatVector.broadcast(sp, 0x1.0e4020p-7f).fma(b, FloatVector.broadcast(sp, 0x1.573e2ep-5f))
                .fma(u, FloatVector.broadcast(sp, 0x1.555e66p-3f).fma(b, FloatVector.broadcast(sp, 0x1.fffdb6p-2f)))
                .fma(u, FloatVector.broadcast(sp, 0x1.ffffecp-1f).fma(b, FloatVector.broadcast(sp, 1f)));
        var big = n.abs().compare(VectorOperators.GT, 192f);
        FloatVector zero = FloatVector.zero(sp);
        IntVector ni = (IntVector) n.blend(zero, big.or(n.test(VectorOperators.IS_NAN))).convert(VectorOperators.F2I, 0);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = j.mul(s1).mul(s2);
        var overflow = big.and(n.compare(VectorOperators.GT, 0f));
        return result.blend(zero, big).blend(FloatVector.broadcast(sp, Float.POSITIVE_INFINITY), overflow);
    }

    /** ggml's vectorised SiLU: {@code x / (1 + v_expf(-x))}. */
    static float silu(float x) {
        return x / (1f + vExpf(0f - x));
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}, vectorised with the same bits as {@link #silu}. */
    static void siluTimes(float[] gate, float[] up, int n) {
        siluTimes(gate, up, 0, n);
    }

    /** {@link #siluTimes(float[], float[], int)} for {@code i} in {@code [from, to)}. */
    static void siluTimes(float[] gate, float[] up, int from, int to) {
        int i = from;
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector zero = FloatVector.zero(F);
        for (int bound = from + F.loopBound(to - from); i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector silu = g.div(one.add(vExpf(zero.sub(g))));
            silu.mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < to; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
    }

    /** {@code _mm512_reduce_add_ps} as GCC expands it: halves added pairwise, 8, 4, then 2 lanes. */
    static float reduceAdd16(float[] a, int o) {
        float t0 = (a[o] + a[o + 8]) + (a[o + 4] + a[o + 12]);
        float t1 = (a[o + 1] + a[o + 9]) + (a[o + 5] + a[o + 13]);
        float t2 = (a[o + 2] + a[o + 10]) + (a[o + 6] + a[o + 14]);
        float t3 = (a[o + 3] + a[o + 11]) + (a[o + 7] + a[o + 15]);
        return (t0 + t2) + (t1 + t3);
    }

    /** The horizontal sum of 8 float lanes used by ggml's x86 dot products (hsum_float_8 / tinyBLAS hsum). */
    static float hsum8(float l0, float l1, float l2, float l3, float l4, float l5, float l6, float l7) {
        return ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
    }

    // ---- glibc's sinf/cosf/sincosf (ARM optimized-routines algorithm, x86-64 FMA build) ----
    // ggml computes RoPE's cos/sin with libm's float functions; glibc's are not correctly rounded (about
    // 1 in 60 RoPE angles differs by an ulp from cos/sin rounded from double), so they are replicated:
    // same polynomials, same range reductions, and the fused multiply-adds GCC forms in the FMA variant
    // that glibc selects on CPUs with FMA.

    private static final double[] SC_SIGN = {1.0, -1.0, -1.0, 1.0};
    private static final double HPI_INV = 0x1.45F306DC9C883p+23;
    private static final double HPI = 0x1.921FB54442D18p0;
    private static final double C1 = -0x1.ffffffd0c621cp-2;
    private static final double C2 = 0x1.55553e1068f19p-5;
    private static final double C3 = -0x1.6c087e89a359dp-10;
    private static final double C4 = 0x1.99343027bf8c3p-16;
    private static final double S1 = -0x1.555545995a603p-3;
    private static final double S2 = 0x1.1107605230bc4p-7;
    private static final double S3 = -0x1.994eb3774cf24p-13;
    private static final double PI63 = 0x1.921FB54442D18p-62;
    private static final int[] INV_PIO4 = {
        0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
        0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1, 0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
        0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
    };

    private static int abstop12(float x) {
        return (Float.floatToRawIntBits(x) >>> 20) & 0x7ff;
    }

    /** glibc {@code cosf}. */
    static float cosf(float y) {
        return sincosf(y, false);
    }

    /** glibc {@code sinf}. */
    static float sinf(float y) {
        return sincosf(y, true);
    }

    private static float sincosf(float y, boolean wantSin) {
        double x = y;
        int n;
        boolean negCos = false; // the table's second entry: cosine polynomial negated
        double s;
        if (abstop12(y) < abstop12((float) 0x1.921FB54442D18p-1)) {
            if (abstop12(y) < abstop12(0x1p-12f)) {
                return wantSin ? y : 1.0f;
            }
            return poly(x, x * x, 0, false, wantSin);
        } else if (abstop12(y) < abstop12(120.0f)) {
            double r = x * HPI_INV;
            n = ((int) r + 0x800000) >> 24;
            x = Math.fma(-(double) n, HPI, x);
            s = SC_SIGN[n & 3];
            negCos = (n & 2) != 0;
        } else if (abstop12(y) < abstop12(Float.POSITIVE_INFINITY)) {
            int xi = Float.floatToRawIntBits(y);
            int sign = xi >>> 31;
            long[] np = new long[1];
            x = reduceLarge(xi, np);
            n = (int) np[0];
            s = SC_SIGN[(n + sign) & 3];
            negCos = ((n + sign) & 2) != 0;
        } else {
            return Float.NaN;
        }
        return poly(x * s, x * x, n, negCos, wantSin);
    }

    private static double reduceLarge(int xiBits, long[] np) {
        int base = (xiBits >>> 26) & 15;
        int shift = (xiBits >>> 23) & 7;
        long xi = (((long) xiBits & 0xffffff) | 0x800000) << shift;
        xi &= 0xffffffffL; // uint32_t arithmetic
        long res0 = (xi * (INV_PIO4[base] & 0xffffffffL)) & 0xffffffffL; // 32-bit product
        long res1 = xi * (INV_PIO4[base + 4] & 0xffffffffL);
        long res2 = xi * (INV_PIO4[base + 8] & 0xffffffffL);
        res0 = (res2 >>> 32) | (res0 << 32);
        res0 += res1;
        long n = (res0 + (1L << 61)) >>> 62;
        res0 -= n << 62;
        np[0] = n;
        return (double) res0 * PI63;
    }

    /** sincosf_poly/sinf_poly: odd quadrants swap the sine and cosine polynomials. */
    private static float poly(double x, double x2, int n, boolean negCos, boolean wantSin) {
        boolean useSinPoly = ((n & 1) == 0) == wantSin;
        if (useSinPoly) {
            double x3 = x2 * x;
            double s1 = Math.fma(x2, S3, S2);
            double x5 = x3 * x2;
            double s = Math.fma(x3, S1, x);
            return (float) Math.fma(x5, s1, s);
        }
        double sg = negCos ? -1.0 : 1.0;
        double x4 = x2 * x2;
        double c2 = Math.fma(x2, sg * C4, sg * C3);
        double c1 = Math.fma(x2, sg * C1, sg * 1.0);
        double x6 = x4 * x2;
        double c = Math.fma(x4, sg * C2, c1);
        return (float) Math.fma(x6, c2, c);
    }
}
