package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Super-blocks of 256 six-bit values in 16 sub-blocks of 16: {@code ql: u8[128], qh: u8[64], scales: i8[16],
 * d: f16}, 210 bytes. Each 128-element half n uses ql[64n ..+64], qh[32n ..+32] and scales[8n ..+8]: element
 * 128n + 32k + l (quarter k, l < 32) has its low four bits in the low (k < 2) or high (k >= 2) nibble of
 * ql[64n + 32(k & 1) + l], its top two bits in bits 2k..2k+1 of qh[32n + l], and scale
 * scales[8n + 2k + l/16]; value = d * scale * (q - 32).
 */
public final class Q6_KTensor extends FloatTensor {
    static final int BLOCK_BYTES = 210;

    Q6_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 256 * BLOCK_BYTES;
        int e = (int) (index % 256);
        int n = e / 128;
        int k = (e % 128) / 32;
        int l = e % 32;
        int packed = data.get(BYTE, base + 64 * n + 32 * (k & 1) + l) & 0xFF;
        int low = k < 2 ? packed & 0xF : packed >>> 4;
        int high = ((data.get(BYTE, base + 128 + 32 * n + l) & 0xFF) >>> (2 * k)) & 3;
        int scale = data.get(BYTE, base + 192 + 8 * n + 2 * k + l / 16);
        return f16ToFloat(data.get(SHORT_LE, base + 208)) * scale * ((low | high << 4) - 32);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base + 208));
            int o = outOffset + b * 256;
            for (int n = 0; n < 2; n++) {
                long ql = base + 64 * n;
                long qh = base + 128 + 32 * n;
                long sc = base + 192 + 8 * n;
                int y = o + 128 * n;
                if (Simd.ENABLED) {
                    // the scalar loop's arithmetic (d times the scale, times the 6-bit value minus 32), a vector
                    // at a time: 16 values share a scale, and a vector holds at most 16
                    for (int l = 0; l < 32; l += LANES) {
                        int is = l / 16;
                        ByteVector a = Simd.bytes(data, ql + l);
                        ByteVector c = Simd.bytes(data, ql + 32 + l);
                        ByteVector h = Simd.bytes(data, qh + l);
                        ByteVector q0 = a.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                        ByteVector q1 = c.and((byte) 0xF)
                                .or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                        ByteVector q2 = a.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                        ByteVector q3 = c.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4));
                        Simd.floats(q0.sub((byte) 32)).mul(d * data.get(BYTE, sc + is)).intoArray(out, y + l);
                        Simd.floats(q1.sub((byte) 32)).mul(d * data.get(BYTE, sc + is + 2)).intoArray(out, y + 32 + l);
                        Simd.floats(q2.sub((byte) 32)).mul(d * data.get(BYTE, sc + is + 4)).intoArray(out, y + 64 + l);
                        Simd.floats(q3.sub((byte) 32)).mul(d * data.get(BYTE, sc + is + 6)).intoArray(out, y + 96 + l);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = data.get(BYTE, ql + l) & 0xFF;
                    int c = data.get(BYTE, ql + 32 + l) & 0xFF;
                    int h = data.get(BYTE, qh + l) & 0xFF;
                    out[y + l] = d * data.get(BYTE, sc + is) * (((a & 0xF) | (h & 3) << 4) - 32);
                    out[y + 32 + l] = d * data.get(BYTE, sc + is + 2) * (((c & 0xF) | ((h >>> 2) & 3) << 4) - 32);
                    out[y + 64 + l] = d * data.get(BYTE, sc + is + 4) * (((a >>> 4) | ((h >>> 4) & 3) << 4) - 32);
                    out[y + 96 + l] = d * data.get(BYTE, sc + is + 6) * (((c >>> 4) | ((h >>> 6) & 3) << 4) - 32);
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
            float d = f16ToFloat(data.get(SHORT_LE, base + 208));
            for (int n = 0; n < 2; n++) {
                long ql = base + 64 * n;
                long sc = base + 192 + 8 * n;
                int y = xOffset + b * 256 + 128 * n;
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector a = Simd.bytes(data, ql + l);
                    ByteVector c = Simd.bytes(data, ql + 32 + l);
                    ByteVector h = Simd.bytes(data, base + 128 + 32 * n + l);
                    // The 32 offset is folded into the float FMA (byte subtraction is slow on some shapes).
                    ByteVector q1 = a.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q2 = c.and((byte) 0xF).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 3)
                            .lanewise(VectorOperators.LSHL, 4));
                    ByteVector q3 = a.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)
                            .or(h.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q4 = c.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)
                            .or(h.lanewise(VectorOperators.LSHR, 6).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    int is = l >>> 4;
                    acc0 = Simd.floats(q1).fma(d * data.get(BYTE, sc + is), -32 * d * data.get(BYTE, sc + is))
                            .fma(FloatVector.fromArray(F, x, y + l), acc0);
                    acc1 = Simd.floats(q2).fma(d * data.get(BYTE, sc + is + 2), -32 * d * data.get(BYTE, sc + is + 2))
                            .fma(FloatVector.fromArray(F, x, y + 32 + l), acc1);
                    acc0 = Simd.floats(q3).fma(d * data.get(BYTE, sc + is + 4), -32 * d * data.get(BYTE, sc + is + 4))
                            .fma(FloatVector.fromArray(F, x, y + 64 + l), acc0);
                    acc1 = Simd.floats(q4).fma(d * data.get(BYTE, sc + is + 6), -32 * d * data.get(BYTE, sc + is + 6))
                            .fma(FloatVector.fromArray(F, x, y + 96 + l), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
