package dev.jgpt.engine.model;

/**
 * The vector size the Vector API kernels of this package ({@link Q8_KActivations}, {@link FlashAttention})
 * may use: the CPU's preferred size, narrowed like the tensor kernels' by {@code -Djgpt.vectorBits=256}
 * and switched off by {@code -Djgpt.simd=false}, which selects their scalar paths.
 */
final class VectorWidth {
    /** Usable vector bits: the preferred size, possibly narrowed, or 0 when vector kernels are off. */
    static final int BITS = bits();

    private VectorWidth() {
    }

    private static int bits() {
        if ("false".equals(System.getProperty("jgpt.simd"))) {
            return 0;
        }
        int bits = jdk.incubator.vector.IntVector.SPECIES_PREFERRED.vectorBitSize();
        String limit = System.getProperty("jgpt.vectorBits");
        return limit == null ? bits : Math.min(bits, Integer.parseInt(limit));
    }
}
