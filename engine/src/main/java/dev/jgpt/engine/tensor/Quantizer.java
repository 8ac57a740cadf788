package dev.jgpt.engine.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Float values to the bytes of any supported GGML type, for tests and tools that write small GGUF files.
 * Round-to-nearest with simple absmax or min/max scales per (sub-)block: the blocks are valid and
 * dequantize close to the input, but this is not llama.cpp's error-minimising search, so do not use it
 * to produce models for serving.
 */
public final class Quantizer {
    private Quantizer() {
    }

    /** Quantizes {@code values} (a whole number of blocks of {@code type}) into its GGML byte layout. */
    public static byte[] quantize(GgmlType type, float[] values) {
        if (!type.supported()) {
            throw new UnsupportedTensorTypeException(type);
        }
        int bs = type.blockSize();
        if (values.length % bs != 0) {
            throw new IllegalArgumentException(values.length + " values is not a whole number of " + type
                    + " blocks of " + bs + "; pad the row");
        }
        ByteBuffer out = ByteBuffer.allocate((int) type.byteSize(values.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += bs) {
            switch (type) {
                case F32 -> out.putFloat(values[start]);
                case F16 -> out.putShort(Float.floatToFloat16(values[start]));
                case BF16 -> out.putShort(toBf16(values[start]));
                case Q8_0 -> q8_0(values, start, out);
                case Q4_0 -> q4_0(values, start, out);
                case Q4_1 -> q4_1(values, start, out);
                case Q5_0 -> q5_0(values, start, out);
                case Q5_1 -> q5_1(values, start, out);
                case Q2_K -> q2_K(values, start, out);
                case Q3_K -> q3_K(values, start, out);
                case Q4_K -> q4_K(values, start, out);
                case Q5_K -> q5_K(values, start, out);
                case Q6_K -> q6_K(values, start, out);
                default -> throw new UnsupportedTensorTypeException(type);
            }
        }
        return out.array();
    }

    /** Round to nearest even on the upper 16 bits; NaN stays a (quiet) NaN. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static float f16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /** q = round(v / step) clamped, 0 when the step is 0 (an all-zero group). */
    private static int level(float v, float step, int lo, int hi) {
        return step == 0 ? clamp(0, lo, hi) : clamp(Math.round(v / step), lo, hi);
    }

    /** The value of largest magnitude, with its sign. */
    private static float signedAbsMax(float[] x, int from, int n) {
        float best = 0;
        for (int i = from; i < from + n; i++) {
            if (Math.abs(x[i]) > Math.abs(best)) {
                best = x[i];
            }
        }
        return best;
    }

    private static float min(float[] x, int from, int n) {
        float m = Float.POSITIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            m = Math.min(m, x[i]);
        }
        return m;
    }

    private static float max(float[] x, int from, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    private static void q8_0(float[] x, int s, ByteBuffer out) {
        float d = f16(Math.abs(signedAbsMax(x, s, 32)) / 127f);
        out.putShort(Float.floatToFloat16(d));
        for (int i = 0; i < 32; i++) {
            out.put((byte) level(x[s + i], d, -127, 127));
        }
    }

    /** Nibbles: element j in the low half of byte j, element j + 16 in its high half. */
    private static void putNibbles(int[] q, ByteBuffer out) {
        for (int j = 0; j < 16; j++) {
            out.put((byte) ((q[j] & 0xF) | (q[j + 16] & 0xF) << 4));
        }
    }

    private static int fifthBits(int[] q) {
        int qh = 0;
        for (int j = 0; j < 32; j++) {
            qh |= ((q[j] >>> 4) & 1) << j;
        }
        return qh;
    }

    private static void q4_0(float[] x, int s, ByteBuffer out) {
        // The extreme value maps to -8 so the other side gets the 7 remaining levels.
        float d = f16(signedAbsMax(x, s, 32) / -8f);
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) {
            q[i] = level(x[s + i], d, -8, 7) + 8;
        }
        out.putShort(Float.floatToFloat16(d));
        putNibbles(q, out);
    }

    private static void q4_1(float[] x, int s, ByteBuffer out) {
        float m = f16(min(x, s, 32));
        float d = f16((max(x, s, 32) - m) / 15f);
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) {
            q[i] = level(x[s + i] - m, d, 0, 15);
        }
        out.putShort(Float.floatToFloat16(d));
        out.putShort(Float.floatToFloat16(m));
        putNibbles(q, out);
    }

    private static void q5_0(float[] x, int s, ByteBuffer out) {
        float d = f16(signedAbsMax(x, s, 32) / -16f);
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) {
            q[i] = level(x[s + i], d, -16, 15) + 16;
        }
        out.putShort(Float.floatToFloat16(d));
        out.putInt(fifthBits(q));
        putNibbles(q, out);
    }

    private static void q5_1(float[] x, int s, ByteBuffer out) {
        float m = f16(min(x, s, 32));
        float d = f16((max(x, s, 32) - m) / 31f);
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) {
            q[i] = level(x[s + i] - m, d, 0, 31);
        }
        out.putShort(Float.floatToFloat16(d));
        out.putShort(Float.floatToFloat16(m));
        out.putInt(fifthBits(q));
        putNibbles(q, out);
    }

    /**
     * Per sub-block of {@code subSize}: the step covering [min(0, lo), hi] with {@code levels} steps and
     * the (non-negative) amount subtracted, both quantized against super-block scales of {@code scaleBits}
     * bits. Fills {@code scaleQ}, {@code minQ} and returns {d, dmin} rounded to f16.
     */
    private static float[] scaleMinSuperBlock(float[] x, int s, int subSize, int levels, int scaleMax,
                                              int[] scaleQ, int[] minQ) {
        int subs = 256 / subSize;
        float[] scale = new float[subs];
        float[] mins = new float[subs];
        float maxScale = 0;
        float maxMin = 0;
        for (int i = 0; i < subs; i++) {
            float lo = Math.min(0f, min(x, s + i * subSize, subSize));
            scale[i] = (max(x, s + i * subSize, subSize) - lo) / levels;
            mins[i] = -lo;
            maxScale = Math.max(maxScale, scale[i]);
            maxMin = Math.max(maxMin, mins[i]);
        }
        float d = f16(maxScale / scaleMax);
        float dmin = f16(maxMin / scaleMax);
        for (int i = 0; i < subs; i++) {
            scaleQ[i] = level(scale[i], d, 0, scaleMax);
            minQ[i] = level(mins[i], dmin, 0, scaleMax);
        }
        return new float[] {d, dmin};
    }

    private static void q2_K(float[] x, int s, ByteBuffer out) {
        int[] sc = new int[16];
        int[] mn = new int[16];
        float[] dm = scaleMinSuperBlock(x, s, 16, 3, 15, sc, mn);
        byte[] qs = new byte[64];
        for (int e = 0; e < 256; e++) {
            int sub = e / 16;
            int q = level(x[s + e] + dm[1] * mn[sub], dm[0] * sc[sub], 0, 3);
            int n = e / 128;
            int j = (e % 128) / 32;
            qs[32 * n + e % 32] |= (byte) (q << (2 * j));
        }
        for (int i = 0; i < 16; i++) {
            out.put((byte) (sc[i] | mn[i] << 4));
        }
        out.put(qs);
        out.putShort(Float.floatToFloat16(dm[0]));
        out.putShort(Float.floatToFloat16(dm[1]));
    }

    private static void q3_K(float[] x, int s, ByteBuffer out) {
        float[] scale = new float[16];
        float maxScale = 0;
        for (int i = 0; i < 16; i++) {
            scale[i] = signedAbsMax(x, s + 16 * i, 16) / -4f;
            if (Math.abs(scale[i]) > Math.abs(maxScale)) {
                maxScale = scale[i];
            }
        }
        float d = f16(maxScale / -32f);
        int[] sc = new int[16];
        for (int i = 0; i < 16; i++) {
            sc[i] = level(scale[i], d, -32, 31);
        }
        byte[] hmask = new byte[32];
        byte[] qs = new byte[64];
        for (int e = 0; e < 256; e++) {
            int q = level(x[s + e], d * sc[e / 16], -4, 3) + 4;
            int n = e / 128;
            int j = (e % 128) / 32;
            int l = e % 32;
            qs[32 * n + l] |= (byte) ((q & 3) << (2 * j));
            hmask[l] |= (byte) ((q >>> 2) << (4 * n + j));
        }
        byte[] packed = new byte[12];
        for (int i = 0; i < 16; i++) {
            int u = sc[i] + 32;
            packed[i & 7] |= (byte) ((u & 0xF) << (4 * (i >>> 3)));
            packed[8 + (i & 3)] |= (byte) ((u >>> 4) << (2 * (i >>> 2)));
        }
        out.put(hmask);
        out.put(qs);
        out.put(packed);
        out.putShort(Float.floatToFloat16(d));
    }

    /** The 12-byte scale/min packing of Q4_K and Q5_K (see {@link Q4_KTensor#scale}). */
    private static byte[] packK4Scales(int[] sc, int[] mn) {
        byte[] p = new byte[12];
        for (int i = 0; i < 8; i++) {
            if (i < 4) {
                p[i] |= (byte) sc[i];
                p[i + 4] |= (byte) mn[i];
            } else {
                p[i + 4] = (byte) ((sc[i] & 0xF) | (mn[i] & 0xF) << 4);
                p[i - 4] |= (byte) ((sc[i] >>> 4) << 6);
                p[i] |= (byte) ((mn[i] >>> 4) << 6);
            }
        }
        return p;
    }

    private static void q4_K(float[] x, int s, ByteBuffer out) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        float[] dm = scaleMinSuperBlock(x, s, 32, 15, 63, sc, mn);
        byte[] qs = new byte[128];
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int q = level(x[s + e] + dm[1] * mn[sub], dm[0] * sc[sub], 0, 15);
            qs[32 * (sub / 2) + e % 32] |= (byte) (q << (4 * (sub & 1)));
        }
        out.putShort(Float.floatToFloat16(dm[0]));
        out.putShort(Float.floatToFloat16(dm[1]));
        out.put(packK4Scales(sc, mn));
        out.put(qs);
    }

    private static void q5_K(float[] x, int s, ByteBuffer out) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        float[] dm = scaleMinSuperBlock(x, s, 32, 31, 63, sc, mn);
        byte[] qh = new byte[32];
        byte[] qs = new byte[128];
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int q = level(x[s + e] + dm[1] * mn[sub], dm[0] * sc[sub], 0, 31);
            qs[32 * (sub / 2) + e % 32] |= (byte) ((q & 0xF) << (4 * (sub & 1)));
            qh[e % 32] |= (byte) ((q >>> 4) << sub);
        }
        out.putShort(Float.floatToFloat16(dm[0]));
        out.putShort(Float.floatToFloat16(dm[1]));
        out.put(packK4Scales(sc, mn));
        out.put(qh);
        out.put(qs);
    }

    private static void q6_K(float[] x, int s, ByteBuffer out) {
        float[] scale = new float[16];
        float maxScale = 0;
        for (int i = 0; i < 16; i++) {
            scale[i] = signedAbsMax(x, s + 16 * i, 16) / -32f;
            if (Math.abs(scale[i]) > Math.abs(maxScale)) {
                maxScale = scale[i];
            }
        }
        float d = f16(maxScale / -128f);
        int[] sc = new int[16];
        for (int i = 0; i < 16; i++) {
            sc[i] = level(scale[i], d, -128, 127);
        }
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int e = 0; e < 256; e++) {
            int q = level(x[s + e], d * sc[e / 16], -32, 31) + 32;
            int n = e / 128;
            int k = (e % 128) / 32;
            int l = e % 32;
            ql[64 * n + 32 * (k & 1) + l] |= (byte) ((q & 0xF) << (k >= 2 ? 4 : 0));
            qh[32 * n + l] |= (byte) ((q >>> 4) << (2 * k));
        }
        out.put(ql);
        out.put(qh);
        for (int i = 0; i < 16; i++) {
            out.put((byte) sc[i]);
        }
        out.putShort(Float.floatToFloat16(d));
    }
}
