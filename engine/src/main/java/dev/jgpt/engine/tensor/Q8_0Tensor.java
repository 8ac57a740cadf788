package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/** Blocks of 32 signed bytes with one F16 scale: {@code d: f16, qs: i8[32]}, 34 bytes; value = d * q. */
public final class Q8_0Tensor extends FloatTensor {
    static final int BLOCK_BYTES = 34;

    Q8_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        long base = index / 32 * BLOCK_BYTES;
        float scale = f16ToFloat(data.get(SHORT_LE, base));
        return scale * data.get(BYTE, base + 2 + index % 32);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            float d = f16ToFloat(data.get(SHORT_LE, base));
            int o = outOffset + b * 32;
            if (Simd.ENABLED) {
                for (int i = 0; i < 32; i += LANES) {
                    Simd.floats(Simd.bytes(data, base + 2 + i)).mul(d).intoArray(out, o + i);
                }
                continue;
            }
            for (int i = 0; i < 32; i++) {
                out[o + i] = d * data.get(BYTE, base + 2 + i);
            }
        }
    }

    @Override
    float dotBlocks(long firstBlock, int nBlocks, float[] x, int xOffset) {
        // The block sum of q*x is scaled once per block; two accumulators hide the FMA latency.
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long base = firstBlock * BLOCK_BYTES;
        for (int b = 0; b < nBlocks; b++, base += BLOCK_BYTES) {
            int xo = xOffset + b * 32;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += LANES) {
                s = Simd.floats(Simd.bytes(data, base + 2 + j)).fma(FloatVector.fromArray(F, x, xo + j), s);
            }
            FloatVector d = FloatVector.broadcast(F, f16ToFloat(data.get(SHORT_LE, base)));
            if ((b & 1) == 0) {
                acc0 = s.fma(d, acc0);
            } else {
                acc1 = s.fma(d, acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
