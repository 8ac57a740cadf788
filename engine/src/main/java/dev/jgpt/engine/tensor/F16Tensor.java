package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgpt.engine.tensor.Simd.F;
import static dev.jgpt.engine.tensor.Simd.LANES;

/** IEEE half-precision elements. */
public final class F16Tensor extends FloatTensor {
    F16Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        return f16ToFloat(data.get(SHORT_LE, index * 2));
    }

    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * 2;
        for (int i = 0; i < nBlocks; i++) {
            out[outOffset + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
        }
    }

    @Override
    float dotBlocks(long offset, int n, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        long byteOffset = offset * 2;
        for (int upper = n - n % LANES; i < upper; i += LANES) {
            acc = halfToFloat(Simd.shortsToInts(data, byteOffset + i * 2L))
                    .fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, byteOffset + i * 2L)) * x[xOffset + i];
        }
        return sum;
    }

    /**
     * Half to float without a conversion instruction (the Vector API has none): moving exponent and mantissa
     * into float position and multiplying by 2^112 rebiases the exponent and handles subnormals exactly;
     * infinities and NaNs then get the float's all-ones exponent back.
     */
    static FloatVector halfToFloat(IntVector h) {
        IntVector magnitude = h.and(0x7fff);
        FloatVector scaled = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        IntVector bits = scaled.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16));
        bits = bits.lanewise(VectorOperators.OR, 0x7f800000, magnitude.compare(VectorOperators.GE, 0x7c00));
        return bits.reinterpretAsFloats();
    }
}
