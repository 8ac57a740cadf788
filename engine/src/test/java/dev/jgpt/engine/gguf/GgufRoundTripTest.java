package dev.jgpt.engine.gguf;

import dev.jgpt.engine.gguf.GgufWriter.ValueType;
import dev.jgpt.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files written by {@link GgufWriter} read back through {@link GgufReader} with every value and tensor intact. */
class GgufRoundTripTest {
    @TempDir
    Path dir;

    static final String UNICODE = "héllo wörld ✓ 日本語 😀 \u0000 tab\tnewline\n";

    /** One key for every scalar type, with values at the edges of their ranges. */
    static GgufWriter everyScalar(GgufWriter w) {
        return w.putU8("u8", 200)
                .putI8("i8", -128)
                .putU16("u16", 65535)
                .putI16("i16", -32768)
                .putU32("u32", 0xFFFF_FFFFL)
                .putI32("i32", Integer.MIN_VALUE)
                .putU64("u64", -1L) // 2^64 - 1
                .putI64("i64", Long.MIN_VALUE)
                .putF32("f32", 3.25f)
                .putF32("f32.nan", Float.NaN)
                .putF64("f64", -1e300)
                .putBool("bool.true", true)
                .putBool("bool.false", false)
                .putString("string", UNICODE)
                .putString("string.empty", "")
                .put("general.architecture", "llama");
    }

    static GgufWriter everyArray(GgufWriter w) {
        return w.putArray("a.u8", ValueType.U8, new int[] {0, 1, 255})
                .putArray("a.i8", ValueType.I8, new int[] {-128, 0, 127})
                .putArray("a.u16", ValueType.U16, new int[] {0, 65535})
                .putArray("a.i16", ValueType.I16, new int[] {-32768, 32767})
                .putArray("a.u32", ValueType.U32, new long[] {0, 0xFFFF_FFFFL})
                .putArray("a.i32", new int[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE})
                .putArray("a.u64", ValueType.U64, new long[] {0, -1L})
                .putArray("a.i64", new long[] {Long.MIN_VALUE, Long.MAX_VALUE})
                .putArray("a.f32", new float[] {1.5f, -0f, Float.POSITIVE_INFINITY})
                .putArray("a.f64", new double[] {Math.PI, Double.MIN_VALUE})
                .putArray("a.bool", new boolean[] {true, false, true})
                .putArray("a.string", new String[] {"", "a", UNICODE, "▁the"})
                .putArray("a.nested", new Object[] {new int[] {1, 2}, new String[] {"x"}, new Object[] {new float[] {2f}}, new long[0]})
                .putArray("a.empty.i32", new int[0])
                .putArray("a.empty.string", new String[0])
                .putArray("a.empty.nested", new Object[0])
                .putArray("a.empty.u8", ValueType.U8, new int[0]);
    }

    @Test
    void everyScalarTypeRoundTrips() {
        Path file = dir.resolve("scalars.gguf");
        everyScalar(new GgufWriter()).write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(3, f.version());
            assertEquals(200, f.get("u8"));
            assertEquals(-128, f.get("i8"));
            assertEquals(65535, f.get("u16"));
            assertEquals(-32768, f.get("i16"));
            assertEquals(0xFFFF_FFFFL, f.get("u32"));
            assertEquals(Integer.MIN_VALUE, f.get("i32"));
            assertEquals(-1L, f.get("u64"));
            assertEquals(Long.MIN_VALUE, f.get("i64"));
            assertEquals(3.25f, f.get("f32"));
            assertEquals(Float.NaN, f.get("f32.nan"));
            assertEquals(-1e300, f.get("f64"));
            assertEquals(true, f.get("bool.true"));
            assertEquals(false, f.get("bool.false"));
            assertEquals(UNICODE, f.getString("string"));
            assertEquals("", f.getString("string.empty"));
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f32.nan", "f64",
                    "bool.true", "bool.false", "string", "string.empty", "general.architecture"),
                    new ArrayList<>(f.metadata().keySet()), "keys keep their insertion order");
            assertTrue(f.tensors().isEmpty());
        }
    }

    @Test
    void typedGettersReportValuesThatDoNotFit() {
        Path file = dir.resolve("getters.gguf");
        new GgufWriter().putU32("big", 0xFFFF_FFFFL).putArray("bigs", ValueType.U32, new long[] {1, 0xFFFF_FFFFL})
                .putU32("small", 7).write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(7, f.getInt("small"));
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> f.getInt("big"));
            assertTrue(e.getMessage().contains("'big' is 4294967295, too large for an int"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> f.getIntArray("bigs"));
            assertTrue(e.getMessage().contains("element 1 is 4294967295"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> f.getString("small"));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    @Test
    void everyArrayTypeRoundTrips() {
        Path file = dir.resolve("arrays.gguf");
        everyArray(new GgufWriter()).write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertArrayEquals(new int[] {0, 1, 255}, (int[]) f.get("a.u8"));
            assertArrayEquals(new int[] {-128, 0, 127}, (int[]) f.get("a.i8"));
            assertArrayEquals(new int[] {0, 65535}, (int[]) f.get("a.u16"));
            assertArrayEquals(new int[] {-32768, 32767}, (int[]) f.get("a.i16"));
            assertArrayEquals(new long[] {0, 0xFFFF_FFFFL}, (long[]) f.get("a.u32"));
            assertArrayEquals(new int[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}, f.getIntArray("a.i32"));
            assertArrayEquals(new long[] {0, -1L}, (long[]) f.get("a.u64"));
            assertArrayEquals(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, (long[]) f.get("a.i64"));
            assertArrayEquals(new float[] {1.5f, -0f, Float.POSITIVE_INFINITY}, f.getFloatArray("a.f32"));
            assertArrayEquals(new double[] {Math.PI, Double.MIN_VALUE}, (double[]) f.get("a.f64"));
            assertArrayEquals(new boolean[] {true, false, true}, (boolean[]) f.get("a.bool"));
            assertArrayEquals(new String[] {"", "a", UNICODE, "▁the"}, f.getStringArray("a.string"));
            Object[] nested = (Object[]) f.get("a.nested");
            assertEquals(4, nested.length);
            assertArrayEquals(new int[] {1, 2}, (int[]) nested[0]);
            assertArrayEquals(new String[] {"x"}, (String[]) nested[1]);
            assertArrayEquals(new float[] {2f}, (float[]) ((Object[]) nested[2])[0]);
            assertArrayEquals(new long[0], (long[]) nested[3]);
            assertEquals(0, ((int[]) f.get("a.empty.i32")).length);
            assertEquals(0, f.getStringArray("a.empty.string").length);
            assertEquals(0, ((Object[]) f.get("a.empty.nested")).length);
            assertEquals(0, ((int[]) f.get("a.empty.u8")).length);
        }
    }

    @Test
    void metadataReadBackCanBeWrittenAgainWithPutObject() {
        Path first = dir.resolve("first.gguf");
        everyArray(everyScalar(new GgufWriter())).write(first);
        Path second = dir.resolve("second.gguf");
        try (GgufFile f = GgufReader.read(first)) {
            GgufWriter copy = new GgufWriter();
            f.metadata().forEach(copy::put);
            copy.write(second);
            try (GgufFile g = GgufReader.read(second)) {
                assertSameMetadata(f.metadata(), g.metadata());
            }
        }
    }

    @Test
    void putObjectPicksTheTypesGgufFileReturns() {
        Path file = dir.resolve("put.gguf");
        new GgufWriter()
                .put("int", (Object) 7)
                .put("long.small", (Object) 4096L) // written as u32, the type llama.cpp expects for hyper-parameters
                .put("long.big", (Object) (1L << 40))
                .put("long.negative", (Object) (-5L))
                .put("float", (Object) 1e-6f)
                .put("double", (Object) 0.5)
                .put("bool", (Object) true)
                .put("string", (Object) "s")
                .put("floats", (Object) new float[] {1f})
                .write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(7, f.get("int"));
            assertEquals(4096L, f.get("long.small"));
            assertEquals(1L << 40, f.get("long.big"));
            assertEquals(-5L, f.get("long.negative"));
            assertEquals(1e-6f, f.get("float"));
            assertEquals(0.5, f.get("double"));
            assertEquals(true, f.get("bool"));
            assertEquals("s", f.get("string"));
            assertArrayEquals(new float[] {1f}, f.getFloatArray("floats"));
        }
    }

    @Test
    void laterPutReplacesAValueAndRemoveDropsIt() {
        Path file = dir.resolve("replace.gguf");
        new GgufWriter().putU32("a", 1).putU32("b", 2).putString("a", "again").remove("b").write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(Map.of("a", "again"), f.metadata());
        }
    }

    /** Tensors of several types, with random data: shape, type, data bytes and aligned offsets are kept. */
    @Test
    void tensorsOfSeveralTypesKeepShapeTypeAndBytes() throws IOException {
        Random random = new Random(42);
        Map<String, byte[]> data = new LinkedHashMap<>();
        GgufWriter w = new GgufWriter().put("general.architecture", "test");
        Object[][] specs = {
                {"f32.vector", GgmlType.F32, new long[] {7}},
                {"f16.matrix", GgmlType.F16, new long[] {5, 3}},
                {"bf16", GgmlType.BF16, new long[] {4, 1, 2}},
                {"q4_0", GgmlType.Q4_0, new long[] {64, 3}},
                {"q8_0", GgmlType.Q8_0, new long[] {32, 2, 2}},
                {"q4_k", GgmlType.Q4_K, new long[] {256, 2}},
                {"q6_k", GgmlType.Q6_K, new long[] {512, 1, 1, 3}},
                {"i8", GgmlType.I8, new long[] {3}},
        };
        for (Object[] spec : specs) {
            GgmlType type = (GgmlType) spec[1];
            long[] shape = (long[]) spec[2];
            byte[] bytes = new byte[(int) type.byteSize(elements(shape))];
            random.nextBytes(bytes);
            data.put((String) spec[0], bytes);
            w.addTensor((String) spec[0], type, shape, bytes);
        }
        Path file = dir.resolve("tensors.gguf");
        w.write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(new ArrayList<>(data.keySet()), new ArrayList<>(f.tensors().keySet()));
            for (Object[] spec : specs) {
                GgufTensorInfo t = f.tensor((String) spec[0]);
                assertEquals(spec[1], t.type(), t.name());
                assertArrayEquals((long[]) spec[2], t.shape(), t.name());
                assertArrayEquals(data.get(t.name()), t.data().toArray(ValueLayout.JAVA_BYTE), t.name());
                assertEquals(0, t.offset() % 32, t.name());
                assertEquals(0, t.data().address() % 32, t.name() + " data are aligned in memory");
            }
            assertEquals(Files.size(file), f.fileSize());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 64, 4096})
    void customAlignmentIsUsedForTensorData(int alignment) {
        Path file = dir.resolve("aligned.gguf");
        byte[] a = bytes(3 * 4, 1);
        byte[] b = bytes(2 * 4, 2);
        GgufWriter w = new GgufWriter().putU32("general.alignment", alignment)
                .addTensor("a", GgmlType.F32, new long[] {3}, a)
                .addTensor("b", GgmlType.F32, new long[] {2}, b);
        assertEquals(alignment, w.alignment());
        w.write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(0, f.tensor("a").offset());
            assertEquals((12 + alignment - 1) / alignment * alignment, f.tensor("b").offset(), "b starts at the next multiple of " + alignment);
            for (GgufTensorInfo t : f.tensors().values()) {
                assertEquals(0, t.data().address() % alignment, t.name());
            }
            assertArrayEquals(a, f.tensor("a").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(b, f.tensor("b").data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void versionTwoFileReads() {
        Path file = dir.resolve("v2.gguf");
        byte[] q = bytes(GgmlType.Q8_0.blockBytes(), 3);
        everyArray(everyScalar(new GgufWriter(2))).addTensor("q", GgmlType.Q8_0, new long[] {32}, q).write(file);
        try (GgufFile f = GgufReader.read(file)) {
            assertEquals(2, f.version());
            assertEquals(UNICODE, f.getString("string"));
            assertArrayEquals(new long[] {0, -1L}, (long[]) f.get("a.u64"));
            assertArrayEquals(q, f.tensor("q").data().toArray(ValueLayout.JAVA_BYTE));
        }
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter(1));
    }

    @Test
    void streamedTensorDataAreWrittenInPieces() {
        Path file = dir.resolve("streamed.gguf");
        long n = 300_000; // elements, written 4 KiB at a time
        new GgufWriter().addTensor("big", GgmlType.F32, new long[] {n}, n * 4, out -> {
            ByteBuffer chunk = ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < n; i++) {
                if (!chunk.hasRemaining()) {
                    chunk.flip();
                    while (chunk.hasRemaining()) {
                        out.write(chunk);
                    }
                    chunk.clear();
                }
                chunk.putFloat(i);
            }
            chunk.flip();
            while (chunk.hasRemaining()) {
                out.write(chunk);
            }
        }).addTensor("after", GgmlType.F32, new long[] {1}, new byte[] {0, 0, (byte) 0x80, 0x3F}).write(file);
        try (GgufFile f = GgufReader.read(file)) {
            var big = f.tensor("big").data();
            for (long i = 0; i < n; i += 997) {
                assertEquals((float) i, big.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            }
            assertEquals(n - 1, big.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, n - 1));
            assertEquals(1f, f.tensor("after").data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
        }
    }

    @Test
    void zeroTensorsReadAsZeros() {
        Path file = dir.resolve("zeros.gguf");
        new GgufWriter().addZeroTensor("z", GgmlType.Q4_0, new long[] {32, 10})
                .addTensor("x", GgmlType.F32, new long[] {1}, bytes(4, 9))
                .addZeroTensor("last", GgmlType.F32, new long[] {100})
                .write(file);
        try (GgufFile f = GgufReader.read(file)) {
            byte[] z = f.tensor("z").data().toArray(ValueLayout.JAVA_BYTE);
            assertEquals(180, z.length);
            assertArrayEquals(new byte[180], z);
            assertArrayEquals(bytes(4, 9), f.tensor("x").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new byte[400], f.tensor("last").data().toArray(ValueLayout.JAVA_BYTE),
                    "a hole at the end of the file still gives the file its full length");
        }
    }

    @Test
    void aSourceWritingTheWrongSizeFailsAndLeavesNoFile() {
        Path file = dir.resolve("short.gguf");
        GgufWriter tooFew = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, 16,
                out -> out.write(ByteBuffer.allocate(12)));
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> tooFew.write(file));
        assertTrue(e.getMessage().contains("wrote 12 bytes, expected 16"), e.getMessage());
        assertFalse(Files.exists(file));

        GgufWriter tooMany = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, 16,
                out -> out.write(ByteBuffer.allocate(20)));
        e = assertThrows(UncheckedIOException.class, () -> tooMany.write(file));
        assertTrue(e.getMessage().contains("more than its 16 bytes"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void writerRefusesWhatGgufCannotHold() {
        GgufWriter w = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]),
                "duplicate tensor name");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("u", GgmlType.F32, new long[] {2}, new byte[4]),
                "data size does not match the shape");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("u", GgmlType.Q4_0, new long[] {16}, new byte[9]),
                "row length not a whole number of blocks");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("u", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new byte[4]),
                "five dimensions");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("u", GgmlType.F32, new long[0], new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("u", GgmlType.F32, new long[] {0}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.putU8("k", 256));
        assertThrows(IllegalArgumentException.class, () -> w.putI8("k", 128));
        assertThrows(IllegalArgumentException.class, () -> w.putU16("k", -1));
        assertThrows(IllegalArgumentException.class, () -> w.putU32("k", 1L << 32));
        assertThrows(IllegalArgumentException.class, () -> w.putArray("k", ValueType.U8, new int[] {256}));
        assertThrows(IllegalArgumentException.class, () -> w.putArray("k", ValueType.F32, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", (Object) List.of(1)));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", (Object) null));
        w.putU32("general.alignment", 48);
        assertThrows(IllegalStateException.class, () -> w.write(dir.resolve("x.gguf")));
    }

    static void assertSameMetadata(Map<String, Object> expected, Map<String, Object> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()));
        for (Map.Entry<String, Object> e : expected.entrySet()) {
            Object a = actual.get(e.getKey());
            assertEquals(e.getValue().getClass(), a.getClass(), e.getKey());
            assertTrue(Objects.deepEquals(e.getValue(), a), () -> e.getKey() + " differs");
        }
    }

    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
