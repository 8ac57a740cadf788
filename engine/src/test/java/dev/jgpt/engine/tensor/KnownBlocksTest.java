package dev.jgpt.engine.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hand-built blocks with expected values worked out from GGML's block structs and dequantize_row_* (not
 * from our own quantizer), so a layout mistake shared by both directions of our code still fails here.
 */
class KnownBlocksTest {
    private static final short ONE = 0x3C00;
    private static final short HALF = 0x3800;
    private static final short MINUS_ONE = (short) 0xBC00;

    private static ByteBuffer block(GgmlType type) {
        return ByteBuffer.allocate(type.blockBytes()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] values(GgmlType type, ByteBuffer b) {
        FloatTensor t = Tensors.of(type, b.array());
        float[] out = new float[type.blockSize()];
        t.dequantize(0, out, 0, out.length);
        // Every path must agree on hand-built blocks too: getFloat and a one-hot dot per element.
        float[] x = new float[out.length];
        for (int i = 0; i < out.length; i++) {
            assertEquals(out[i], t.getFloat(i), 0f, type + " getFloat " + i);
            x[i] = 1;
            assertEquals(out[i], t.dot(0, x, 0, out.length), 0f, type + " one-hot dot " + i);
            x[i] = 0;
        }
        return out;
    }

    @Test
    void q8_0() {
        ByteBuffer b = block(GgmlType.Q8_0).putShort(HALF);
        for (int i = 0; i < 32; i++) {
            b.put((byte) (i - 16));
        }
        float[] v = values(GgmlType.Q8_0, b);
        for (int i = 0; i < 32; i++) {
            assertEquals(0.5f * (i - 16), v[i]);
        }
    }

    @Test
    void q4_0() {
        ByteBuffer b = block(GgmlType.Q4_0).putShort(ONE);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        float[] v = values(GgmlType.Q4_0, b);
        for (int j = 0; j < 16; j++) {
            assertEquals(j - 8, v[j]);          // low nibbles: first half of the block
            assertEquals(7 - j, v[16 + j]);     // high nibbles: second half
        }
    }

    @Test
    void q4_1() {
        ByteBuffer b = block(GgmlType.Q4_1).putShort(HALF).putShort(MINUS_ONE);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        float[] v = values(GgmlType.Q4_1, b);
        assertEquals(-1f, v[0]);
        assertEquals(0.5f * 5 - 1, v[5]);
        assertEquals(0.5f * 15 - 1, v[16]);
        assertEquals(-1f, v[31]);
    }

    @Test
    void q5_0() {
        ByteBuffer b = block(GgmlType.Q5_0).putShort(ONE).putInt(0x0001_0001);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        float[] v = values(GgmlType.Q5_0, b);
        assertEquals(0f, v[0]);     // 0 | 16 - 16
        assertEquals(-15f, v[1]);   // 1 - 16
        assertEquals(15f, v[16]);   // 15 | 16 - 16
        assertEquals(-2f, v[17]);   // 14 - 16
        assertEquals(-16f, v[31]);  // 0 - 16
    }

    @Test
    void q5_1() {
        ByteBuffer b = block(GgmlType.Q5_1).putShort(ONE).putShort(HALF).putInt(0x8000_0001);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        float[] v = values(GgmlType.Q5_1, b);
        assertEquals(16.5f, v[0]);
        assertEquals(15.5f, v[15]);
        assertEquals(15.5f, v[16]);
        assertEquals(16.5f, v[31]);
    }

    @Test
    void q2_K() {
        ByteBuffer b = block(GgmlType.Q2_K);
        for (int i = 0; i < 15; i++) {
            b.put((byte) i);                    // scale i, min 0
        }
        b.put((byte) 0x35);                     // sub-block 15: scale 5, min 3
        for (int i = 0; i < 64; i++) {
            b.put((byte) 0xE4);                 // bit pairs 0,1,2,3: element 128n + 32j + l has q = j
        }
        b.putShort(ONE).putShort(HALF);
        float[] v = values(GgmlType.Q2_K, b);
        assertEquals(0f, v[0]);
        assertEquals(2f, v[32]);                // sub-block 2, q 1
        assertEquals(24f, v[200]);              // n 1, j 2, l 8: sub-block 12, q 2
        assertEquals(5 * 3 - 0.5f * 3, v[255]); // sub-block 15, q 3
    }

    @Test
    void q3_K() {
        ByteBuffer b = block(GgmlType.Q3_K);
        for (int l = 0; l < 32; l++) {
            b.put((byte) 0x0F);                 // third bit set for n = 0 (bits 0..3), clear for n = 1
        }
        for (int i = 0; i < 64; i++) {
            b.put((byte) 0xE4);                 // low two bits of element 128n + 32j + l = j
        }
        // All six-bit scales 33 (scale 1): low nibbles 1, top bits 2; then scale 5 := 5 and scale 13 := -3.
        byte[] scales = {0x11, 0x11, 0x11, 0x11, 0x11, (byte) 0xD5, 0x11, 0x11,
            (byte) 0xAA, 0x6A, (byte) 0xAA, (byte) 0xAA};
        b.put(scales).putShort(ONE);
        float[] v = values(GgmlType.Q3_K, b);
        assertEquals(0f, v[0]);                 // n 0, j 0
        assertEquals(3f, v[96]);                // n 0, j 3
        assertEquals(-4f, v[128]);              // n 1, j 0: 0 - 4
        assertEquals(10f, v[80]);               // sub-block 5 (n 0, j 2): 5 * 2
        assertEquals(6f, v[208]);               // sub-block 13 (n 1, j 2): -3 * (2 - 4)
        assertEquals(-1f, v[255]);              // n 1, j 3: 3 - 4
    }

    private static byte[] k4Scales() {
        // sc 1..4 and min 0 for sub-blocks 0..3; sub-blocks 4..7 take nibbles 5 / 1 from bytes 8..11,
        // and byte 0's top bits (01) raise sub-block 4's scale to 16 + 5.
        return new byte[] {0x41, 2, 3, 4, 0, 0, 0, 0, 0x15, 0x15, 0x15, 0x15};
    }

    private static final float[] K4_EXPECTED = {1, 6, 3, 12, 20, 14, 4, 14};

    @Test
    void q4_K() {
        ByteBuffer b = block(GgmlType.Q4_K).putShort(ONE).putShort(ONE).put(k4Scales());
        for (int i = 0; i < 128; i++) {
            b.put((byte) 0x31);                 // low nibble 1 (even sub-blocks), high nibble 3 (odd)
        }
        float[] v = values(GgmlType.Q4_K, b);
        for (int e = 0; e < 256; e++) {
            assertEquals(K4_EXPECTED[e / 32], v[e], "element " + e);
        }
    }

    @Test
    void q5_K() {
        ByteBuffer b = block(GgmlType.Q5_K).putShort(ONE).putShort(ONE).put(k4Scales());
        for (int l = 0; l < 32; l++) {
            b.put((byte) 0x01);                 // fifth bit for sub-block 0 only
        }
        for (int i = 0; i < 128; i++) {
            b.put((byte) 0x31);
        }
        float[] v = values(GgmlType.Q5_K, b);
        for (int e = 0; e < 256; e++) {
            assertEquals(e < 32 ? 17f : K4_EXPECTED[e / 32], v[e], "element " + e);
        }
    }

    @Test
    void q6_K() {
        ByteBuffer b = block(GgmlType.Q6_K);
        for (int i = 0; i < 128; i++) {
            b.put((byte) 0x21);                 // low nibble 1, high nibble 2
        }
        for (int i = 0; i < 64; i++) {
            b.put((byte) 0xE4);                 // top bit pairs 0,1,2,3 for quarters k = 0..3
        }
        for (int i = 0; i < 16; i++) {
            b.put((byte) (i - 8));
        }
        b.putShort(ONE);
        float[] v = values(GgmlType.Q6_K, b);
        assertEquals(-8 * -31f, v[0]);          // k 0: 1 | 0 << 4 = 1, minus 32; scale 0 - 8
        assertEquals(-6 * -15f, v[40]);         // k 1, l 8: 1 | 1 << 4 = 17; scale 2 - 8
        assertEquals(-4 * 2f, v[64]);           // k 2: 2 | 2 << 4 = 34; scale 4 - 8
        assertEquals(7 * 18f, v[255]);          // n 1, k 3, l 31: 2 | 3 << 4 = 50; scale 15 - 8
    }

    @Test
    void f16AndBf16() {
        ByteBuffer f = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        short[] halves = {ONE, (short) 0xC000, 0x0001, 0x3555, (short) 0x8400, 0x7BFF};
        float[] expected = {1f, -2f, 0x1p-24f, 0.333251953125f, -0x1p-14f, 65504f};
        for (short h : halves) {
            f.putShort(h);
        }
        FloatTensor t = Tensors.of(GgmlType.F16, f.array());
        for (int i = 0; i < halves.length; i++) {
            assertEquals(expected[i], t.getFloat(i));
        }
        ByteBuffer bf = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        bf.putShort((short) 0x3F80).putShort((short) 0xC040);
        FloatTensor tb = Tensors.of(GgmlType.BF16, bf.array());
        assertEquals(1f, tb.getFloat(0));
        assertEquals(-3f, tb.getFloat(1));
    }

    /** The Vector API half-to-float conversion, checked on every finite half with one-hot dots. */
    @Test
    void f16VectorConversionCoversEveryHalf() {
        ByteBuffer all = ByteBuffer.allocate(65536 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < 65536; h++) {
            all.putShort((short) h);
        }
        FloatTensor t = Tensors.of(GgmlType.F16, all.array());
        float[] x = new float[32];
        for (int h = 0; h < 65536; h++) {
            float expected = Float.float16ToFloat((short) h);
            int window = h / 32 * 32;
            x[h % 32] = 1;
            float actual = Float.isFinite(expected) ? t.dot(window, x, 0, 32) : expected;
            x[h % 32] = 0;
            assertEquals(expected, actual, 0f, "half 0x" + Integer.toHexString(h));
        }
        // Infinities are not finite above, so check them on their own: inf * 1 plus zeros.
        ByteBuffer inf = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0xFC00);
        float[] ones = new float[32];
        java.util.Arrays.fill(ones, 1f);
        assertEquals(Float.NEGATIVE_INFINITY, Tensors.of(GgmlType.F16, inf.array()).dot(0, ones, 0, 32), 0f);
    }

    /** Vectorized dequantization gives every half's bits exactly, infinities included; NaNs stay NaN. */
    @Test
    void f16DequantizeCoversEveryHalfBitForBit() {
        ByteBuffer all = ByteBuffer.allocate(65536 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < 65536; h++) {
            all.putShort((short) h);
        }
        FloatTensor t = Tensors.of(GgmlType.F16, all.array());
        float[] out = new float[65536];
        t.dequantize(0, out, 0, 65536);
        for (int h = 0; h < 65536; h++) {
            float expected = Float.float16ToFloat((short) h);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(out[h]), "half 0x" + Integer.toHexString(h) + " is a NaN");
                continue;
            }
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[h]),
                    "half 0x" + Integer.toHexString(h));
        }
    }
}
