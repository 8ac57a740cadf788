package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Blocks of 32 four-bit values with one F16 scale: {@code d: f16, qs: u8[16]}, 18 bytes. Element j < 16 is
 * the low nibble of qs[j], element j + 16 its high nibble; value = d * (q - 8).
 */
public final class Q4_0Tensor extends FloatTensor {
    static final int BLOCK_BYTES = 18;

    Q4_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 32 * BLOCK_BYTES;
        int within = (int) (index % 32);
        int packed = data.get(BYTE, base + 2 + (within & 15)) & 0xFF;
        int q = within < 16 ? packed & 0xF : packed >>> 4;
        return f16ToFloat(data.get(SHORT_LE, base)) * (q - 8);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            int o = outOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int packed = data.get(BYTE, base + 2 + j) & 0xFF;
                out[o + j] = d * ((packed & 0xF) - 8);
                out[o + j + 16] = d * ((packed >>> 4) - 8);
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
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            for (int j = 0; j < 16; j += LANES) {
                ByteVector packed = Simd.bytes(data, base + 2 + j);
                FloatVector lo = Simd.floats(packed.and((byte) 0xF)).sub(8f);
                FloatVector hi = Simd.floats(packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)).sub(8f);
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
