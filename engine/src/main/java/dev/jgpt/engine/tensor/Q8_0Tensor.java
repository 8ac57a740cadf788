package dev.jgpt.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Blocks of 32 signed bytes with one F16 scale: 34 bytes per block. */
public final class Q8_0Tensor extends FloatTensor {
    Q8_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        long block = index / 32;
        int within = (int) (index % 32);
        long base = block * 34;
        float scale = f16ToFloat(data.get(SHORT_LE, base));
        return scale * data.get(ValueLayout.JAVA_BYTE, base + 2 + within);
    }
}
