package dev.jgpt.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The vector species every kernel uses, chosen once. The quantized kernels walk blocks of 32 (or sub-blocks
 * of 16) elements in steps of {@link #LANES} floats, so they need 8 or 16 float lanes (AVX2, AVX-512, 256-bit
 * SVE); anything else (128-bit NEON/SSE, very wide SVE) takes the scalar path. The system property
 * {@code jgpt.vectorBits} (256 or 512) narrows the choice, e.g. to test the AVX2 shape on an AVX-512 machine;
 * {@code -Djgpt.simd=false} turns the Vector API kernels off.
 */
final class Simd {
    static final VectorSpecies<Float> F;
    /** Bytes with as many lanes as {@link #F}, so one load converts to one float vector. */
    static final VectorSpecies<Byte> B;
    static final VectorSpecies<Short> S;
    static final VectorSpecies<Integer> I;
    static final int LANES;
    static final boolean ENABLED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static {
        VectorSpecies<Float> f = FloatVector.SPECIES_PREFERRED;
        String bits = System.getProperty("jgpt.vectorBits");
        if (bits != null && Integer.parseInt(bits) < f.vectorBitSize()) {
            f = VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(bits)));
        }
        int lanes = f.length();
        boolean usable = (lanes == 8 || lanes == 16) && !"false".equals(System.getProperty("jgpt.simd"));
        F = f;
        LANES = lanes;
        ENABLED = usable;
        B = usable ? VectorSpecies.of(byte.class, VectorShape.forBitSize(lanes * 8)) : null;
        S = usable ? VectorSpecies.of(short.class, VectorShape.forBitSize(lanes * 16)) : null;
        I = f.withLanes(int.class);
    }

    private Simd() {
    }

    /** Signed bytes to floats, lane for lane. */
    static FloatVector floats(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    static ByteVector bytes(MemorySegment data, long offset) {
        return ByteVector.fromMemorySegment(B, data, offset, LE);
    }

    /** Little-endian shorts, sign-extended to ints. */
    static IntVector shortsToInts(MemorySegment data, long offset) {
        return (IntVector) ShortVector.fromMemorySegment(S, data, offset, LE).convertShape(VectorOperators.S2I, I, 0);
    }

    /** Dot product of two float arrays; used on rows dequantized into scratch buffers. */
    static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        int i = 0;
        float sum = 0f;
        if (ENABLED) {
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            int step = 2 * LANES;
            for (int upper = n - n % step; i < upper; i += step) {
                acc0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc0);
                acc1 = FloatVector.fromArray(F, a, aOffset + i + LANES)
                        .fma(FloatVector.fromArray(F, b, bOffset + i + LANES), acc1);
            }
            sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }
}
