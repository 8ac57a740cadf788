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

    /**
     * A plain loop over {@link Float#float16ToFloat}: C2 vectorizes it (one Zen 5 thread, 1024 halves in L2:
     * 33 ns, against 45 ns for {@link #halfToFloat} on vectors of {@link #LANES}).
     */
    @Override
    void dequantizeBlocks(long firstBlock, int nBlocks, float[] out, int outOffset) {
        long base = firstBlock * 2;
        for (int i = 0; i < nBlocks; i++) {
            out[outOffset + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
        }
    }

    /**
     * Two accumulators, one 64-byte line of halves per iteration (with 16 lanes). On one Zen 5 thread
     * streaming weights from DRAM (F16Throughput) this took a 1024-wide row from 220-250 to 88-94 ns of CPU
     * time and a 2816-wide one from 435-455 to 235-255 ns; the single-accumulator loop before it waited on
     * the latency of its chain of FMAs. A 4-accumulator version was as slow as the single one.
     */
    @Override
    float dotBlocks(long offset, int n, float[] x, int xOffset) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        long byteOffset = offset * 2;
        for (int upper = n - n % (2 * LANES); i < upper; i += 2 * LANES) {
            acc0 = halfToFloat(Simd.shortsToInts(data, byteOffset + i * 2L))
                    .fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = halfToFloat(Simd.shortsToInts(data, byteOffset + (i + LANES) * 2L))
                    .fma(FloatVector.fromArray(F, x, xOffset + i + LANES), acc1);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, byteOffset + i * 2L)) * x[xOffset + i];
        }
        return sum;
    }

    /**
     * {@link #dot} of rows {@code r0..r1} of {@code cols} halves each (from the tensor's start) with
     * {@code x[xOffset..]}, into {@code out[outOffset + r]}: {@link #dotBlocks}' accumulators and order on
     * each row first converted into {@code row} (at least {@code cols} floats) by a plain loop that C2
     * vectorizes into conversion instructions, 3-4x cheaper than {@link #halfToFloat}'s bit manipulation
     * (one thread on an Intel Xeon with AVX-512, 4096 halves: ~0.44 against ~1.4-1.7 ns per 16).
     */
    void dotRows(int r0, int r1, int cols, float[] x, int xOffset, float[] out, int outOffset, float[] row) {
        int step = 2 * LANES;
        int upper = cols - cols % step;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * cols * 2;
            for (int i = 0; i < cols; i++) {
                row[i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
            }
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            for (int i = 0; i < upper; i += step) {
                acc0 = FloatVector.fromArray(F, row, i).fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
                acc1 = FloatVector.fromArray(F, row, i + LANES).fma(FloatVector.fromArray(F, x, xOffset + i + LANES),
                        acc1);
            }
            float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
            for (int i = upper; i < cols; i++) {
                sum += row[i] * x[xOffset + i];
            }
            out[outOffset + r] = sum;
        }
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
