package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Super-blocks of 256 four-bit values in 8 sub-blocks of 32: {@code d: f16, dmin: f16, scales: u8[12],
 * qs: u8[128]}, 144 bytes. Each 64-element chunk j uses qs[32j .. 32j + 32): low nibbles are sub-block 2j,
 * high nibbles sub-block 2j + 1. Sub-block i has a six-bit scale s and minimum m packed in scales (see
 * {@link #scale}); value = d * s * q - dmin * m.
 */
public final class Q4_KTensor extends FloatTensor {
    static final int BLOCK_BYTES = 144;

    Q4_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    /**
     * Six-bit scale of sub-block i: for i < 4 the low six bits of byte i; otherwise the low nibble of byte
     * i + 4 with the top two bits of byte i - 4 above it.
     */
    static int scale(MemorySegment data, long scales, int i) {
        if (i < 4) {
            return data.get(BYTE, scales + i) & 63;
        }
        return (data.get(BYTE, scales + i + 4) & 0xF) | ((data.get(BYTE, scales + i - 4) & 0xFF) >>> 6) << 4;
    }

    /**
     * Six-bit minimum of sub-block i: for i < 4 the low six bits of byte i + 4; otherwise the high nibble of
     * byte i + 4 with the top two bits of byte i above it.
     */
    static int min(MemorySegment data, long scales, int i) {
        if (i < 4) {
            return data.get(BYTE, scales + i + 4) & 63;
        }
        return ((data.get(BYTE, scales + i + 4) & 0xFF) >>> 4) | ((data.get(BYTE, scales + i) & 0xFF) >>> 6) << 4;
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 256 * BLOCK_BYTES;
        int e = (int) (index % 256);
        int chunk = e / 64;
        int high = (e % 64) / 32;
        int sub = 2 * chunk + high;
        int packed = data.get(BYTE, base + 16 + 32 * chunk + e % 32) & 0xFF;
        int q = high == 0 ? packed & 0xF : packed >>> 4;
        float d = f16ToFloat(data.get(SHORT_LE, base));
        float dmin = f16ToFloat(data.get(SHORT_LE, base + 2));
        return d * scale(data, base + 4, sub) * q - dmin * min(data, base + 4, sub);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            float dmin = f16ToFloat(data.get(SHORT_LE, base + 2));
            int o = outOffset + b * 256;
            for (int chunk = 0; chunk < 4; chunk++) {
                float d1 = d * scale(data, base + 4, 2 * chunk);
                float m1 = dmin * min(data, base + 4, 2 * chunk);
                float d2 = d * scale(data, base + 4, 2 * chunk + 1);
                float m2 = dmin * min(data, base + 4, 2 * chunk + 1);
                long q = base + 16 + 32 * chunk;
                if (Simd.ENABLED) {
                    // the scalar loop's arithmetic (the nibble as a float, times d1, minus m1), a vector at a time
                    for (int l = 0; l < 32; l += LANES) {
                        ByteVector packed = Simd.bytes(data, q + l);
                        Simd.floats(packed.and((byte) 0xF)).mul(d1).sub(m1).intoArray(out, o + 64 * chunk + l);
                        Simd.floats(packed.lanewise(VectorOperators.LSHR, 4)).mul(d2).sub(m2)
                                .intoArray(out, o + 64 * chunk + 32 + l);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l++) {
                    int packed = data.get(BYTE, q + l) & 0xFF;
                    out[o + 64 * chunk + l] = d1 * (packed & 0xF) - m1;
                    out[o + 64 * chunk + 32 + l] = d2 * (packed >>> 4) - m2;
                }
            }
        }
    }

    @Override
    float dotBlocks(long firstBlock, int nBlocks, float[] x, int xOffset) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            int xo = xOffset + b * 256;
            float d = f16ToFloat(data.get(SHORT_LE, base));
            float dmin = f16ToFloat(data.get(SHORT_LE, base + 2));
            for (int chunk = 0; chunk < 4; chunk++) {
                float d1 = d * scale(data, base + 4, 2 * chunk);
                float m1 = -dmin * min(data, base + 4, 2 * chunk);
                float d2 = d * scale(data, base + 4, 2 * chunk + 1);
                float m2 = -dmin * min(data, base + 4, 2 * chunk + 1);
                int xc = xo + 64 * chunk;
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector packed = Simd.bytes(data, base + 16 + 32 * chunk + l);
                    FloatVector lo = Simd.floats(packed.and((byte) 0xF)).fma(d1, m1);
                    FloatVector hi = Simd.floats(packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)).fma(d2, m2);
                    acc0 = lo.fma(FloatVector.fromArray(F, x, xc + l), acc0);
                    acc1 = hi.fma(FloatVector.fromArray(F, x, xc + 32 + l), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
