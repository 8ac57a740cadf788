package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Super-blocks of 256 two-bit values in 16 sub-blocks of 16: {@code scales: u8[16], qs: u8[64], d: f16,
 * dmin: f16}, 84 bytes. Scale byte i holds the sub-block's scale (low nibble) and minimum (high nibble).
 * Each 128-element half uses 32 bytes of qs: element 128n + 32j + l is bits 2j..2j+1 of qs[32n + l], in
 * sub-block 8n + 2j + l/16; value = d * scale * q - dmin * min.
 */
public final class Q2_KTensor extends FloatTensor {
    static final int BLOCK_BYTES = 84;

    Q2_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 256 * BLOCK_BYTES;
        int e = (int) (index % 256);
        int n = e / 128;
        int j = (e % 128) / 32;
        int l = e % 32;
        int sc = data.get(BYTE, base + 8 * n + 2 * j + l / 16) & 0xFF;
        int q = ((data.get(BYTE, base + 16 + 32 * n + l) & 0xFF) >>> (2 * j)) & 3;
        float d = f16ToFloat(data.get(SHORT_LE, base + 80));
        float dmin = f16ToFloat(data.get(SHORT_LE, base + 82));
        return d * (sc & 0xF) * q - dmin * (sc >>> 4);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base + 80));
            float dmin = f16ToFloat(data.get(SHORT_LE, base + 82));
            int o = outOffset + b * 256;
            for (int sub = 0; sub < 16; sub++) {
                int sc = data.get(BYTE, base + sub) & 0xFF;
                float dl = d * (sc & 0xF);
                float ml = dmin * (sc >>> 4);
                // sub-block 8n + 2j + h covers elements 128n + 32j + 16h .. +16, from qs[32n + 16h ..].
                int n = sub >>> 3;
                int shift = 2 * ((sub >>> 1) & 3);
                long q = base + 16 + 32 * n + 16 * (sub & 1);
                for (int l = 0; l < 16; l++) {
                    out[o + 16 * sub + l] = dl * (((data.get(BYTE, q + l) & 0xFF) >>> shift) & 3) - ml;
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
            float d = f16ToFloat(data.get(SHORT_LE, base + 80));
            float dmin = f16ToFloat(data.get(SHORT_LE, base + 82));
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector q = Simd.bytes(data, base + 16 + 32 * n + l);
                    for (int j = 0; j < 4; j++) {
                        int sc = data.get(BYTE, base + 8 * n + 2 * j + (l >>> 4)) & 0xFF;
                        FloatVector w = Simd.floats(q.lanewise(VectorOperators.LSHR, 2 * j).and((byte) 3))
                                .fma(d * (sc & 0xF), -dmin * (sc >>> 4));
                        FloatVector xv = FloatVector.fromArray(F, x, xo + 128 * n + 32 * j + l);
                        if ((j & 1) == 0) {
                            acc0 = w.fma(xv, acc0);
                        } else {
                            acc1 = w.fma(xv, acc1);
                        }
                    }
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
