package dev.jgpt.engine.tensor;

import java.lang.foreign.MemorySegment;

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
}
