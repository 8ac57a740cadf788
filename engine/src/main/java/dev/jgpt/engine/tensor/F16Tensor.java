package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
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
        int i = 0;
        if (Simd.ENABLED) {
            for (int upper = nBlocks - nBlocks % LANES; i < upper; i += LANES) {
                halfToFloat(Simd.shortsToInts(data, base + 2L * i)).intoArray(out, outOffset + i);
            }
        }
        for (; i < nBlocks; i++) {
            out[outOffset + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
        }
    }

    /**
     * One accumulator: a two-accumulator form was as fast alone but halved generation speed inside the
     * forward pass (tiny-qwen3-f16, JDK 25), so keep this loop simple for the JIT.
     */
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
     * Half to float without a conversion instruction (the Vector API has none), for halves sign-extended
     * to ints: shifting left by 13 puts the sign in bit 31 and exponent and mantissa in float position;
     * multiplying by 2^112 then rebiases the exponent and makes subnormals normal, exactly. Infinities and
     * NaNs (all-ones exponent) get the float's all-ones exponent back.
     */
    static FloatVector halfToFloat(IntVector h) {
        FloatVector scaled = h.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000).reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = h.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        return scaled.reinterpretAsInts().lanewise(VectorOperators.OR, 0x7f800000, special).reinterpretAsFloats();
    }
}
