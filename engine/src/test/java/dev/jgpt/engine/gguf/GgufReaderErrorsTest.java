package dev.jgpt.engine.gguf;

import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every way a GGUF file can be broken gives a {@link GgufFormatException} naming the file and the problem,
 * never an IndexOutOfBoundsException, OutOfMemoryError or StackOverflowError. Broken files are made by
 * writing a valid file with {@link GgufWriter} and patching its bytes.
 */
class GgufReaderErrorsTest {
    @TempDir
    Path dir;

    /** A small valid file with every kind of metadata and three tensors; the data section ends the file. */
    private byte[] validFile() throws IOException {
        GgufWriter w = GgufRoundTripTest.everyArray(GgufRoundTripTest.everyScalar(new GgufWriter()));
        w.addTensor("tensor.a", GgmlType.F32, new long[] {3, 2}, GgufRoundTripTest.bytes(24, 1));
        w.addTensor("tensor.b", GgmlType.Q4_0, new long[] {32, 1, 1, 2}, GgufRoundTripTest.bytes(36, 2));
        w.addTensor("tensor.c", GgmlType.F16, new long[] {5}, GgufRoundTripTest.bytes(10, 3));
        Path p = dir.resolve("valid.gguf");
        w.write(p);
        return Files.readAllBytes(p);
    }

    private Path file(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    /** Reads {@code content} expecting a GgufFormatException whose message names the file and has {@code fragment}. */
    private GgufFormatException assertRejected(byte[] content, String fragment) throws IOException {
        Path p = file("broken.gguf", content);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufReader.read(p).close());
        assertTrue(e.getMessage().contains(p.toString()), () -> "message should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), () -> "message should say '" + fragment + "': " + e.getMessage());
        return e;
    }

    /** Position just after the length-prefixed string {@code s} (a key or tensor name), found in the file. */
    private static int after(byte[] file, String s) {
        byte[] needle = s.getBytes(StandardCharsets.UTF_8);
        byte[] withLength = ByteBuffer.allocate(8 + needle.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(needle.length).put(needle).array();
        for (int i = 0; i + withLength.length <= file.length; i++) {
            if (Arrays.equals(file, i, i + withLength.length, withLength, 0, withLength.length)) {
                return i + withLength.length;
            }
        }
        throw new AssertionError("'" + s + "' is not in the file");
    }

    /** Position of the length prefix of the string {@code s}. */
    private static int before(byte[] file, String s) {
        return after(file, s) - 8 - s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static byte[] putU32(byte[] file, int pos, int value) {
        byte[] copy = file.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(pos, value);
        return copy;
    }

    private static byte[] putU64(byte[] file, int pos, long value) {
        byte[] copy = file.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putLong(pos, value);
        return copy;
    }

    @Test
    void validFileReads() throws IOException {
        try (GgufFile f = GgufReader.read(file("valid.gguf", validFile()))) {
            assertEquals(3, f.tensors().size());
        }
    }

    @Test
    void emptyFile() throws IOException {
        assertRejected(new byte[0], "empty");
    }

    @Test
    void textFileIsNotGguf() throws IOException {
        assertRejected("hello, this is a text file\n".getBytes(StandardCharsets.UTF_8), "not a GGUF file (it starts with 'hell'");
        assertRejected(new byte[] {0x7f, 'E', 'L', 'F', 2, 1}, "bytes 7f 45 4c 46");
        assertRejected("GG".getBytes(StandardCharsets.US_ASCII), "too small");
    }

    @Test
    void unsupportedVersions() throws IOException {
        byte[] valid = validFile();
        assertRejected(putU32(valid, 4, 1), "GGUF version 1 is not supported");
        assertRejected(putU32(valid, 4, 99), "unsupported GGUF version 99");
        assertRejected(putU32(valid, 4, 0), "unsupported GGUF version 0");
        assertRejected(putU32(valid, 4, -1), "unsupported GGUF version 4294967295");
        assertRejected(putU32(valid, 4, 3 << 24), "big-endian");
    }

    /** Cutting the file anywhere (header, metadata, tensor infos, padding, tensor data) is reported as truncation. */
    @Test
    void truncationAtEveryByte() throws IOException {
        byte[] valid = validFile();
        Path p = dir.resolve("truncated.gguf");
        for (int length = 0; length < valid.length; length++) {
            Files.write(p, Arrays.copyOf(valid, length));
            try (GgufFile f = GgufReader.read(p)) {
                fail("a file cut to " + length + " of " + valid.length + " bytes was read: " + f.tensors());
            } catch (GgufFormatException e) {
                String expected = length == 0 ? "empty" : length < 4 ? "too small" : "truncated";
                int at = length;
                assertTrue(e.getMessage().contains(expected) && e.getMessage().startsWith(p.toString()),
                        () -> "cut at " + at + ": " + e.getMessage());
            }
        }
    }

    @Test
    void absurdCountsAndLengths() throws IOException {
        byte[] valid = validFile();
        assertRejected(putU64(valid, 8, 1L << 62), "implausible tensor count");
        assertRejected(putU64(valid, 8, -1L), "implausible tensor count 18446744073709551615");
        assertRejected(putU64(valid, 8, 100_000), "tensor count 100000 is larger than the rest of the file");
        assertRejected(putU64(valid, 16, 1L << 62), "implausible metadata count");
        assertRejected(putU64(valid, 16, 1000), "truncated");
        // The first key's length, then a string value's length.
        assertRejected(putU64(valid, 24, 1L << 62), "metadata key #0 claims 4611686018427387904 bytes");
        assertRejected(putU64(valid, after(valid, "string") + 4, 1L << 62), "claims 4611686018427387904 bytes");
        assertRejected(putU64(valid, after(valid, "string") + 4, Long.MIN_VALUE), "claims 9223372036854775808 bytes");
        // Array lengths: after the key comes the value type (9), the element type, then the length.
        assertRejected(putU64(valid, after(valid, "a.i32") + 8, 1L << 62), "implausible array length of 'a.i32'");
        assertRejected(putU64(valid, after(valid, "a.i32") + 8, 1 << 20), "array length of 'a.i32' 1048576 is larger");
        assertRejected(putU64(valid, after(valid, "a.f64") + 8, 100), "truncated while reading array 'a.f64'");
        assertRejected(putU64(valid, after(valid, "a.string") + 8, 300), "truncated while reading array 'a.string'");
        assertRejected(putU64(valid, after(valid, "a.nested") + 8, 200), "truncated while reading array 'a.nested'");
        // Tensor infos: dimension count, then dimensions.
        assertRejected(putU32(valid, after(valid, "tensor.a"), 5), "tensor 'tensor.a' has 5 dimensions");
        assertRejected(putU32(valid, after(valid, "tensor.a"), 0), "tensor 'tensor.a' has 0 dimensions");
        assertRejected(putU32(valid, after(valid, "tensor.a"), -1), "has 4294967295 dimensions");
        assertRejected(putU64(valid, after(valid, "tensor.a") + 4, 1L << 41), "invalid dimension 2199023255552");
        assertRejected(putU64(valid, after(valid, "tensor.a") + 4, -1L), "invalid dimension 18446744073709551615");
        assertRejected(putU64(valid, after(valid, "tensor.a") + 4, 1L << 20), "truncated: tensor 'tensor.a'");
    }

    /** Four dimensions each within bounds multiply past 2^63: the size overflow is a format error. */
    @Test
    void tensorSizeOverflow() throws IOException {
        byte[] broken = validFile();
        int dims = after(broken, "tensor.b") + 4;
        for (int d = 0; d < 4; d++) {
            broken = putU64(broken, dims + 8 * d, 1L << 40);
        }
        assertRejected(broken, "too large");
        // Large, but with a byte size that fits in a long: truncated.
        broken = putU64(putU64(validFile(), dims, 1L << 35), dims + 8, 1L << 20);
        assertRejected(broken, "truncated");
    }

    @Test
    void unknownTypes() throws IOException {
        byte[] valid = validFile();
        assertRejected(putU32(valid, after(valid, "u8"), 13), "metadata key 'u8' has unknown value type 13");
        assertRejected(putU32(valid, after(valid, "u8"), -1), "has unknown value type");
        assertRejected(putU32(valid, after(valid, "a.u8") + 4, 13), "metadata array 'a.u8' has unknown element type 13");
        int typeOfA = after(valid, "tensor.a") + 4 + 2 * 8;
        assertRejected(putU32(valid, typeOfA, 4), "tensor 'tensor.a' has unknown type id 4"); // Q4_2, removed from GGML
        assertRejected(putU32(valid, typeOfA, 99), "unknown type id 99");
        assertRejected(putU32(valid, typeOfA, -1), "unknown type id 4294967295");
        byte[] badBool = valid.clone();
        badBool[after(valid, "bool.true") + 4] = 2;
        assertRejected(badBool, "boolean bool.true has invalid value 2");
    }

    @Test
    void tensorOffsets() throws IOException {
        byte[] valid = validFile();
        int offsetOfB = after(valid, "tensor.b") + 4 + 4 * 8 + 4;
        long b = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(offsetOfB);
        assertEquals(32, b);
        assertRejected(putU64(valid, offsetOfB, b + 1), "tensor 'tensor.b' offset 33 is not aligned to 32");
        assertRejected(putU64(valid, offsetOfB, 1L << 40), "truncated: tensor 'tensor.b'");
        assertRejected(putU64(valid, offsetOfB, -32L), "18446744073709551584");
        // Offsets near 2^63, where offset + size or data start + offset overflow a long.
        for (long k = 0; k < 200; k++) {
            long offset = (Long.MAX_VALUE & ~31L) - 32 * k;
            assertRejected(putU64(valid, offsetOfB, offset), "truncated");
        }
        for (int shift = 7; shift < 64; shift++) { // 128 and beyond lie past the 106-byte data section
            assertRejected(putU64(valid, offsetOfB, 1L << shift), "truncated");
        }
    }

    @Test
    void duplicates() throws IOException {
        byte[] valid = validFile();
        byte[] names = valid.clone();
        names[after(valid, "tensor.b") - 1] = 'a'; // "tensor.b" -> "tensor.a"
        assertRejected(names, "tensor 'tensor.a' appears twice");
        byte[] keys = valid.clone();
        keys[after(valid, "i8") - 2] = 'u'; // "i8" -> "u8": same length, and the value keeps its own type
        assertRejected(keys, "metadata key 'u8' appears twice");
    }

    @Test
    void badAlignment() throws IOException {
        for (long alignment : new long[] {0, 3, 48, 1L << 31, 0xFFFF_FFFFL}) {
            byte[] content = withAlignment(alignment);
            assertRejected(content, "general.alignment must be a power of two");
        }
        // As a u64, 2^32 is a power of two that does not fit in an int (it once caused a division by zero).
        Path u64 = dir.resolve("u64-alignment.gguf");
        new GgufWriter().putU64("general.alignmenX", 1L << 32)
                .addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]).write(u64);
        byte[] huge = Files.readAllBytes(u64);
        huge[after(huge, "general.alignmenX") - 1] = 't';
        assertRejected(huge, "general.alignment must be a power of two up to 1073741824, found 4294967296");
        for (Object wrongType : new Object[] {"32", 32.0f, 32.0, true}) {
            // The writer refuses a general.alignment it cannot use, so write another key and rename it.
            Path p = dir.resolve("typed-alignment.gguf");
            new GgufWriter().put("general.alignmenX", wrongType).write(p);
            byte[] content = Files.readAllBytes(p);
            content[after(content, "general.alignmenX") - 1] = 't';
            assertRejected(content, "general.alignment must be a power of two up to 1073741824, found " + wrongType);
        }
    }

    /** A valid file with general.alignment 32, then patched to {@code alignment}. */
    private byte[] withAlignment(long alignment) throws IOException {
        Path p = dir.resolve("alignment.gguf");
        new GgufWriter().putU32("general.alignment", 32)
                .addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]).write(p);
        byte[] valid = Files.readAllBytes(p);
        return putU32(valid, after(valid, "general.alignment") + 4, (int) alignment);
    }

    @Test
    void rowLengthNotAWholeNumberOfBlocks() throws IOException {
        byte[] valid = validFile();
        assertRejected(putU64(valid, after(valid, "tensor.b") + 4, 16),
                "tensor 'tensor.b' row length 16 is not a multiple of the Q4_0 block size 32");
    }

    /** Arrays of arrays nested very deep: an error, not a StackOverflowError. */
    @Test
    void deeplyNestedArrays() throws IOException {
        for (int depth : new int[] {17, 100_000}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(GgufReader.MAGIC).putInt(3).putLong(0).putLong(1).putLong(1).put((byte) 'k').putInt(9);
            out.write(b.array(), 0, b.position());
            for (int i = 0; i < depth; i++) {
                b.clear();
                b.putInt(9).putLong(1);
                out.write(b.array(), 0, b.position());
            }
            b.clear();
            b.putInt(5).putLong(0);
            out.write(b.array(), 0, b.position());
            assertRejected(out.toByteArray(), "metadata array 'k' nests arrays more than 16 deep");
        }
        // 16 levels (the array and 15 inside it) is fine.
        Object nested = new int[] {7};
        for (int i = 0; i < 15; i++) {
            nested = new Object[] {nested};
        }
        Path p = dir.resolve("nested.gguf");
        new GgufWriter().putArray("k", nested).write(p);
        try (GgufFile f = GgufReader.read(p)) {
            Object v = f.get("k");
            for (int i = 0; i < 15; i++) {
                v = ((Object[]) v)[0];
            }
            assertEquals(7, ((int[]) v)[0]);
        }
    }

    @Test
    void missingFileAndDirectory() throws IOException {
        Path missing = dir.resolve("no-such-model.gguf");
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufReader.read(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("no such file"), e.getMessage());
        Path directory = Files.createDirectory(dir.resolve("models.gguf"));
        e = assertThrows(GgufFormatException.class, () -> GgufReader.read(directory));
        assertTrue(e.getMessage().contains(directory.toString()) && e.getMessage().contains("directory"), e.getMessage());
    }

    /**
     * Random corruption of a valid file: each result is either a readable file (whose tensor data can all be
     * touched) or a GgufFormatException; any other exception or error fails the test.
     */
    @Test
    void randomCorruptionOnlyGivesFormatErrors() throws IOException {
        byte[] valid = validFile();
        Random random = new Random(20240601);
        Path p = dir.resolve("fuzz.gguf");
        long[] interesting = {0, 1, -1, 1L << 31, 1L << 32, 1L << 62, Long.MIN_VALUE, Long.MAX_VALUE, 32, 0xFFFF_FFFFL};
        int readable = 0;
        for (int round = 0; round < 2000; round++) {
            byte[] broken = valid.clone();
            int edits = 1 + random.nextInt(3);
            for (int i = 0; i < edits; i++) {
                int pos = random.nextInt(broken.length);
                switch (random.nextInt(3)) {
                    case 0 -> broken[pos] = (byte) random.nextInt(256);
                    case 1 -> broken[pos] ^= (byte) (1 << random.nextInt(8));
                    default -> {
                        if (pos + 8 <= broken.length) {
                            ByteBuffer.wrap(broken).order(ByteOrder.LITTLE_ENDIAN)
                                    .putLong(pos, interesting[random.nextInt(interesting.length)]);
                        }
                    }
                }
            }
            Files.write(p, broken);
            try (GgufFile f = GgufReader.read(p)) {
                for (GgufTensorInfo t : f.tensors().values()) {
                    t.data().get(ValueLayout.JAVA_BYTE, t.data().byteSize() - 1);
                }
                readable++;
            } catch (GgufFormatException expected) {
                assertTrue(expected.getMessage().startsWith(p.toString()), expected.getMessage());
            } catch (RuntimeException | Error e) {
                throw new AssertionError("round " + round + ": " + e, e);
            }
        }
        assertTrue(readable > 0, "some corruptions (inside tensor data, say) leave the file readable");
    }
}
