package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;
import static dev.jgpt.engine.tensor.Simd.LE;

/** 32-bit float elements. */
public final class F32Tensor extends FloatTensor {
    F32Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float getFloat(long index) {
        return data.get(FLOAT_LE, index * 4);
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        MemorySegment.copy(data, FLOAT_LE, firstBlock * 4, out, outOffset, nBlocks);
    }

    @Override
    float dotBlocks(long offset, int n, float[] x, int xOffset) {
        // Two accumulators hide the FMA latency; the loop is bound by loads anyway.
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        long byteOffset = offset * 4;
        for (int upper = n - n % (2 * LANES); i < upper; i += 2 * LANES) {
            acc0 = FloatVector.fromMemorySegment(F, data, byteOffset + i * 4L, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, data, byteOffset + (i + LANES) * 4L, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + LANES), acc1);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += data.get(FLOAT_LE, byteOffset + i * 4L) * x[xOffset + i];
        }
        return sum;
    }
}
