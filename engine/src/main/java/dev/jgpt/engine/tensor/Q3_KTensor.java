package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Super-blocks of 256 three-bit values in 16 sub-blocks of 16: {@code hmask: u8[32], qs: u8[64],
 * scales: u8[12], d: f16}, 110 bytes. Element 128n + 32j + l takes its low two bits from bits 2j..2j+1 of
 * qs[32n + l] and its third bit from bit 4n + j of hmask[l]; a clear third bit means "minus 4", so
 * q = low2 - (bit ? 0 : 4) lies in [-4, 3]. Sub-block 8n + 2j + l/16 has a six-bit scale s, value =
 * d * (s - 32) * q.
 */
public final class Q3_KTensor extends FloatTensor {
    static final int BLOCK_BYTES = 110;

    Q3_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    /**
     * Six-bit scale of sub-block i, minus 32. The low four bits of scales 0..7 are the low nibbles of bytes
     * 0..7 and those of scales 8..15 the high nibbles; the top two bits of scale i are bits 2*(i/4) of byte
     * 8 + i%4.
     */
    static int scale(MemorySegment data, long scales, int i) {
        int low = (data.get(BYTE, scales + (i & 7)) & 0xFF) >>> (4 * (i >>> 3)) & 0xF;
        int high = (data.get(BYTE, scales + 8 + (i & 3)) & 0xFF) >>> (2 * (i >>> 2)) & 3;
        return (low | high << 4) - 32;
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 256 * BLOCK_BYTES;
        int e = (int) (index % 256);
        int n = e / 128;
        int j = (e % 128) / 32;
        int l = e % 32;
        int low = ((data.get(BYTE, base + 32 + 32 * n + l) & 0xFF) >>> (2 * j)) & 3;
        int high = ((data.get(BYTE, base + l) & 0xFF) >>> (4 * n + j)) & 1;
        float d = f16ToFloat(data.get(SHORT_LE, base + 108));
        return d * scale(data, base + 96, 8 * n + 2 * j + l / 16) * (low - (high == 0 ? 4 : 0));
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base + 108));
            int o = outOffset + b * 256;
            for (int sub = 0; sub < 16; sub++) {
                float dl = d * scale(data, base + 96, sub);
                int n = sub >>> 3;
                int j = (sub >>> 1) & 3;
                int l0 = 16 * (sub & 1);
                long q = base + 32 + 32 * n;
                for (int l = l0; l < l0 + 16; l++) {
                    int low = ((data.get(BYTE, q + l) & 0xFF) >>> (2 * j)) & 3;
                    int high = ((data.get(BYTE, base + l) & 0xFF) >>> (4 * n + j)) & 1;
                    out[o + 128 * n + 32 * j + l] = dl * (low - 4 + 4 * high);
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
            float d = f16ToFloat(data.get(SHORT_LE, base + 108));
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector q = Simd.bytes(data, base + 32 + 32 * n + l);
                    ByteVector h = Simd.bytes(data, base + l);
                    for (int j = 0; j < 4; j++) {
                        // low2 | bit << 2 is q + 4 in [0, 7]; the 4 is subtracted in the float FMA below
                        // (byte subtraction is slow on some shapes).
                        ByteVector v = q.lanewise(VectorOperators.LSHR, 2 * j).and((byte) 3)
                                .or(h.lanewise(VectorOperators.LSHR, 4 * n + j).and((byte) 1)
                                        .lanewise(VectorOperators.LSHL, 2));
                        float dl = d * scale(data, base + 96, 8 * n + 2 * j + (l >>> 4));
                        FloatVector xv = FloatVector.fromArray(F, x, xo + 128 * n + 32 * j + l);
                        if ((j & 1) == 0) {
                            acc0 = Simd.floats(v).fma(dl, -4 * dl).fma(xv, acc0);
                        } else {
                            acc1 = Simd.floats(v).fma(dl, -4 * dl).fma(xv, acc1);
                        }
                    }
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
