package dev.jgpt.engine.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Where a Java float array's elements start on a 64-byte boundary. The JVM places arrays on 8-byte boundaries
 * only, so a 512-bit load from one usually spans two cache lines, and the kernels that store and reload
 * scratch rows pay for that on every vector (see {@link MatrixOps#ALIGNED_SCRATCH}, and the Q6_K prompt
 * kernels' activations in {@code Q8_KActivations}). Java has no way to ask an array's address, so it is read
 * through the C library: {@code memmove(a, a, 0)} returns its first argument and touches nothing, and a
 * critical downcall passes a heap array's elements to it in place. The address holds until a garbage
 * collection moves the array, so callers ask again for each use; a moved array is only slower, never wrong.
 * Where the call is not available, offset 0.
 */
public final class Alignment {
    private static final MethodHandle MEMMOVE = memmove();

    private Alignment() {
    }

    /** The first index from which {@code a}'s elements lie on 64-byte boundaries (0..15), or 0 if unknown. */
    public static int floatOffset(float[] a) {
        if (MEMMOVE == null) {
            return 0;
        }
        try {
            MemorySegment s = MemorySegment.ofArray(a);
            long address = ((MemorySegment) MEMMOVE.invokeExact(s, s, 0L)).address();
            return (int) ((64 - (address & 63)) & 63) / Float.BYTES;
        } catch (Throwable t) {
            return 0;
        }
    }

    private static MethodHandle memmove() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("memmove").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_LONG),
                    Linker.Option.critical(true))).orElse(null);
        } catch (RuntimeException | Error e) {
            return null;
        }
    }
}
