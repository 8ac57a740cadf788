package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.I;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Blocks of 32 five-bit values with one F16 scale: {@code d: f16, qh: u32, qs: u8[16]}, 22 bytes. The low four
 * bits are nibbles as in {@link Q4_0Tensor}; bit j of qh is the fifth bit of element j; value = d * (q - 16).
 */
public final class Q5_0Tensor extends FloatTensor {
    static final int BLOCK_BYTES = 22;

    /** Lane i holds 1 << i: ANDed with a broadcast of qh >>> j it tests the fifth bit of element j + i. */
    static final IntVector LANE_BITS = laneBits();

    Q5_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    static IntVector laneBits() {
        int[] bits = new int[I.length()];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = 1 << (i & 31);
        }
        return IntVector.fromArray(I, bits, 0);
    }

    /** Lanes of elements j .. j + LANES whose fifth bit (in qh) is set. */
    static VectorMask<Float> highBits(int qh, int j) {
        return IntVector.broadcast(I, qh >>> j).and(LANE_BITS).compare(VectorOperators.NE, 0).cast(F);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 32 * BLOCK_BYTES;
        int within = (int) (index % 32);
        int qh = data.get(INT_LE, base + 2);
        int packed = data.get(BYTE, base + 6 + (within & 15)) & 0xFF;
        int q = (within < 16 ? packed & 0xF : packed >>> 4) | ((qh >>> within) & 1) << 4;
        return f16ToFloat(data.get(SHORT_LE, base)) * (q - 16);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            int qh = data.get(INT_LE, base + 2);
            int o = outOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int packed = data.get(BYTE, base + 6 + j) & 0xFF;
                int lo = (packed & 0xF) | ((qh >>> j) & 1) << 4;
                int hi = (packed >>> 4) | ((qh >>> (j + 16)) & 1) << 4;
                out[o + j] = d * (lo - 16);
                out[o + j + 16] = d * (hi - 16);
            }
        }
    }

    @Override
    float dotBlocks(long firstBlock, int nBlocks, float[] x, int xOffset) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            int xo = xOffset + b * 32;
            int qh = data.get(INT_LE, base + 2);
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            for (int j = 0; j < 16; j += LANES) {
                ByteVector packed = Simd.bytes(data, base + 6 + j);
                FloatVector lo = Simd.floats(packed.and((byte) 0xF)).sub(16f)
                        .lanewise(VectorOperators.ADD, 16f, highBits(qh, j));
                FloatVector hi = Simd.floats(packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)).sub(16f)
                        .lanewise(VectorOperators.ADD, 16f, highBits(qh, j + 16));
                s0 = lo.fma(FloatVector.fromArray(F, x, xo + j), s0);
                s1 = hi.fma(FloatVector.fromArray(F, x, xo + 16 + j), s1);
            }
            FloatVector d = FloatVector.broadcast(F, f16ToFloat(data.get(SHORT_LE, base)));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
