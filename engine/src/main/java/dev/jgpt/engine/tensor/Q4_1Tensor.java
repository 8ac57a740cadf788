package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/**
 * Blocks of 32 four-bit values with an F16 scale and minimum: {@code d: f16, m: f16, qs: u8[16]}, 20 bytes.
 * Nibbles as in {@link Q4_0Tensor}; value = d * q + m.
 */
public final class Q4_1Tensor extends FloatTensor {
    static final int BLOCK_BYTES = 20;

    Q4_1Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 32 * BLOCK_BYTES;
        int within = (int) (index % 32);
        int packed = data.get(BYTE, base + 4 + (within & 15)) & 0xFF;
        int q = within < 16 ? packed & 0xF : packed >>> 4;
        return f16ToFloat(data.get(SHORT_LE, base)) * q + f16ToFloat(data.get(SHORT_LE, base + 2));
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            float m = f16ToFloat(data.get(SHORT_LE, base + 2));
            int o = outOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int packed = data.get(BYTE, base + 4 + j) & 0xFF;
                out[o + j] = d * (packed & 0xF) + m;
                out[o + j + 16] = d * (packed >>> 4) + m;
            }
        }
    }

    @Override
    float dotBlocks(long firstBlock, int nBlocks, float[] x, int xOffset) {
        // sum (d*q + m) * x = d * sum(q*x) + m * sum(x): the minimum costs one add per vector.
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = FloatVector.zero(F);
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            int xo = xOffset + b * 32;
            FloatVector s = FloatVector.zero(F);
            FloatVector xs = FloatVector.zero(F);
            for (int j = 0; j < 16; j += LANES) {
                ByteVector packed = Simd.bytes(data, base + 4 + j);
                FloatVector xlo = FloatVector.fromArray(F, x, xo + j);
                FloatVector xhi = FloatVector.fromArray(F, x, xo + 16 + j);
                s = Simd.floats(packed.and((byte) 0xF)).fma(xlo, s);
                s = Simd.floats(packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)).fma(xhi, s);
                xs = xs.add(xlo).add(xhi);
            }
            acc = s.fma(FloatVector.broadcast(F, f16ToFloat(data.get(SHORT_LE, base))), acc);
            accMin = xs.fma(FloatVector.broadcast(F, f16ToFloat(data.get(SHORT_LE, base + 2))), accMin);
        }
        return acc.add(accMin).reduceLanes(VectorOperators.ADD);
    }
}
