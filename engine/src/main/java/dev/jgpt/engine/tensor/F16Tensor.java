package dev.jgpt.engine.tensor;

import java.lang.foreign.MemorySegment;

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
}
