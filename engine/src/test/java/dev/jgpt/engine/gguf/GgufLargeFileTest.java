package dev.jgpt.engine.gguf;

import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A GGUF file larger than 2 GiB maps and reads: a single {@code int}-indexed ByteBuffer could not hold it.
 * The file is sparse (its big tensor is a hole of zeros), so it takes little disk and time.
 */
class GgufLargeFileTest {
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void fileLargerThanTwoGibReads() throws IOException {
        // Guard against filesystems without sparse files: the file would really take 2.1 GB.
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > 8 * GIB, "not enough free disk for a 2.1 GB file");
        Path file = dir.resolve("large.gguf");
        long[] bigShape = {1024, 1024, 520}; // F32: 2,181,038,080 bytes
        float[] tail = {1.5f, -2f, 3.25f, 1e30f, 0f, -0f, 7f, 8f};
        ByteBuffer tailBytes = ByteBuffer.allocate(tail.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : tail) {
            tailBytes.putFloat(f);
        }
        GgufWriter w = new GgufWriter().put("general.architecture", "large")
                .putU32("general.alignment", 64)
                .addTensor("head", GgmlType.F32, new long[] {4}, new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0})
                .addZeroTensor("big", GgmlType.F32, bigShape)
                .addTensor("tail", GgmlType.F32, new long[] {tail.length}, tailBytes.array());
        try {
            w.write(file);
        } catch (UncheckedIOException e) {
            assumeTrue(false, "the filesystem refuses a large sparse file: " + e.getMessage());
        }
        try {
            assertTrue(Files.size(file) > 2 * GIB, "file is " + Files.size(file) + " bytes");
            try (GgufFile f = GgufReader.read(file)) {
                assertEquals(Files.size(file), f.fileSize());
                MemorySegment big = f.tensor("big").data();
                assertEquals(1024L * 1024 * 520 * 4, big.byteSize());
                assertTrue(big.byteSize() > Integer.MAX_VALUE);
                assertEquals(0f, big.get(ValueLayout.JAVA_FLOAT_UNALIGNED, big.byteSize() - 4));
                assertEquals(0f, big.get(ValueLayout.JAVA_FLOAT_UNALIGNED, (1L << 31) + 64));

                GgufTensorInfo t = f.tensor("tail");
                assertTrue(t.offset() > 2 * GIB, "the tail tensor lies beyond 2 GiB");
                assertEquals(0, t.offset() % 64);
                float[] read = new float[tail.length];
                for (int i = 0; i < tail.length; i++) {
                    read[i] = t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
                }
                assertArrayEquals(tail, read);
                assertEquals(2f, f.tensor("head").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1));
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
