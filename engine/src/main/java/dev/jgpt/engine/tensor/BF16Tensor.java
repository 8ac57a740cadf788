package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/** bfloat16 elements: the upper half of an IEEE float. */
public final class BF16Tensor extends FloatTensor {
    BF16Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float getFloat(long index) {
        return Float.intBitsToFloat(data.get(SHORT_LE, index * 2) << 16);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * 2;
        for (int i = 0; i < nBlocks; i++) {
            out[outOffset + i] = Float.intBitsToFloat(data.get(SHORT_LE, base + 2L * i) << 16);
        }
    }

    @Override
    float dotBlocks(long offset, int n, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        long byteOffset = offset * 2;
        for (int upper = n - n % LANES; i < upper; i += LANES) {
            FloatVector w = Simd.shortsToInts(data, byteOffset + i * 2L)
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = w.fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.intBitsToFloat(data.get(SHORT_LE, byteOffset + i * 2L) << 16) * x[xOffset + i];
        }
        return sum;
    }
}
