package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Super-blocks of 256 five-bit values in 8 sub-blocks of 32: {@code d: f16, dmin: f16, scales: u8[12],
 * qh: u8[32], qs: u8[128]}, 176 bytes. Low four bits and scales as in {@link Q4_KTensor}; the fifth bit of
 * element 32i + l (sub-block i) is bit i of qh[l]; value = d * s * q - dmin * m.
 */
public final class Q5_KTensor extends FloatTensor {
    static final int BLOCK_BYTES = 176;

    Q5_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 256 * BLOCK_BYTES;
        int e = (int) (index % 256);
        int chunk = e / 64;
        int high = (e % 64) / 32;
        int sub = 2 * chunk + high;
        int l = e % 32;
        int packed = data.get(BYTE, base + 48 + 32 * chunk + l) & 0xFF;
        int q = (high == 0 ? packed & 0xF : packed >>> 4) | (((data.get(BYTE, base + 16 + l) & 0xFF) >>> sub) & 1) << 4;
        float d = f16ToFloat(data.get(SHORT_LE, base));
        float dmin = f16ToFloat(data.get(SHORT_LE, base + 2));
        return d * Q4_KTensor.scale(data, base + 4, sub) * q - dmin * Q4_KTensor.min(data, base + 4, sub);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            float dmin = f16ToFloat(data.get(SHORT_LE, base + 2));
            int o = outOffset + b * 256;
            for (int chunk = 0; chunk < 4; chunk++) {
                float d1 = d * Q4_KTensor.scale(data, base + 4, 2 * chunk);
                float m1 = dmin * Q4_KTensor.min(data, base + 4, 2 * chunk);
                float d2 = d * Q4_KTensor.scale(data, base + 4, 2 * chunk + 1);
                float m2 = dmin * Q4_KTensor.min(data, base + 4, 2 * chunk + 1);
                long q = base + 48 + 32 * chunk;
                for (int l = 0; l < 32; l++) {
                    int packed = data.get(BYTE, q + l) & 0xFF;
                    int h = (data.get(BYTE, base + 16 + l) & 0xFF) >>> (2 * chunk);
                    out[o + 64 * chunk + l] = d1 * ((packed & 0xF) | (h & 1) << 4) - m1;
                    out[o + 64 * chunk + 32 + l] = d2 * ((packed >>> 4) | (h & 2) << 3) - m2;
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
                float d1 = d * Q4_KTensor.scale(data, base + 4, 2 * chunk);
                float m1 = -dmin * Q4_KTensor.min(data, base + 4, 2 * chunk);
                float d2 = d * Q4_KTensor.scale(data, base + 4, 2 * chunk + 1);
                float m2 = -dmin * Q4_KTensor.min(data, base + 4, 2 * chunk + 1);
                int xc = xo + 64 * chunk;
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector packed = Simd.bytes(data, base + 48 + 32 * chunk + l);
                    ByteVector h = Simd.bytes(data, base + 16 + l).lanewise(VectorOperators.LSHR, 2 * chunk);
                    ByteVector qlo = packed.and((byte) 0xF)
                            .or(h.and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    ByteVector qhi = packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)
                            .or(h.and((byte) 2).lanewise(VectorOperators.LSHL, 3));
                    acc0 = Simd.floats(qlo).fma(d1, m1).fma(FloatVector.fromArray(F, x, xc + l), acc0);
                    acc1 = Simd.floats(qhi).fma(d2, m2).fma(FloatVector.fromArray(F, x, xc + 32 + l), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
