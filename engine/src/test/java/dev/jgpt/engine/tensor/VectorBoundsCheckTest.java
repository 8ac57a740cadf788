package dev.jgpt.engine.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The launcher runs with the Vector API's bounds checks off ({@code jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0}
 * in {@code jgpt}), so the tests must keep them: a kernel that indexes past its data then fails here with an
 * exception instead of reading or writing whatever lies beyond it.
 */
class VectorBoundsCheckTest {
    @Test
    void testsRunWithTheVectorApisBoundsChecks() {
        assertNotEquals("0", System.getProperty("jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK"),
                "the tests must not turn off the Vector API's bounds checks");
        float[] data = new float[Simd.F.length()];
        assertThrows(IndexOutOfBoundsException.class, () -> FloatVector.fromArray(Simd.F, data, 1));
        float[] room = new float[Simd.F.length() + 1];
        assertThrows(IndexOutOfBoundsException.class, () -> FloatVector.zero(Simd.F).intoArray(room, 2));
    }
}
