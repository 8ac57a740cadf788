package dev.jgpt.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test helpers: tensors of every type in native, deliberately misaligned memory, like a mapped GGUF file. */
final class Tensors {
    private Tensors() {
    }

    static List<GgmlType> supportedTypes() {
        List<GgmlType> types = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            if (t.supported()) {
                types.add(t);
            }
        }
        return types;
    }

    /** {@code bytes} copied to native memory starting one byte past an aligned address. */
    static MemorySegment nativeCopy(byte[] bytes) {
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length + 1L, 64).asSlice(1, bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return seg;
    }

    static FloatTensor quantized(GgmlType type, float[] values) {
        return FloatTensor.of(type, nativeCopy(Quantizer.quantize(type, values)), values.length);
    }

    static FloatTensor of(GgmlType type, byte[] bytes) {
        return FloatTensor.of(type, nativeCopy(bytes), bytes.length / type.blockBytes() * (long) type.blockSize());
    }

    static float[] gaussian(Random random, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * std;
        }
        return v;
    }

    /** A length that is a whole number of blocks for every type: K-quants need 256. */
    static int blockMultiple(GgmlType type, int blocks) {
        return Math.max(type.blockSize(), 1) * blocks * (type.blockSize() == 1 ? 32 : 1);
    }
}
