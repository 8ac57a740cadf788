package dev.jgpt.engine.gguf;

import dev.jgpt.engine.tensor.GgmlType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes GGUF v2/v3 files: metadata in insertion order, then tensor infos, then the aligned tensor data.
 * Tensor data are streamed to disk when {@link #write(Path)} runs, so files far larger than the heap can be
 * written (a benchmark's random model, a sparse test file beyond 2 GiB); only the header is built in memory.
 *
 * <p>Every GGUF value type has an explicit {@code putXxx} method; {@link #put(String, Object)} also accepts
 * the Java values {@link GgufFile} returns, so a file can be copied metadata for metadata.
 * The tensor data section is aligned to {@code general.alignment} when that key is set (32 otherwise).
 */
public final class GgufWriter {

    /** The GGUF metadata value types, with their on-disk ids. */
    public enum ValueType {
        U8(0), I8(1), U16(2), I16(3), U32(4), I32(5), F32(6), BOOL(7), STRING(8), ARRAY(9), U64(10), I64(11), F64(12);

        private final int id;

        ValueType(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }
    }

    /** Writes exactly the declared number of bytes of one tensor's data when the file is written. */
    @FunctionalInterface
    public interface TensorDataSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private record Value(ValueType type, Object value) {}

    private record Tensor(String name, GgmlType type, long[] shape, long byteSize, TensorDataSource source) {}

    /** A source that writes nothing: the writer leaves a hole (sparse where the filesystem allows) of zeros. */
    private static final TensorDataSource ZEROS = out -> { };

    private final int version;
    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** A GGUF version 3 writer. */
    public GgufWriter() {
        this(3);
    }

    /** A writer for GGUF {@code version} 2 or 3 (their layouts are the same; version 1 used 32-bit counts). */
    public GgufWriter(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("GgufWriter writes GGUF versions 2 and 3, not " + version);
        }
        this.version = version;
    }

    // ---- metadata: one method per GGUF value type ----

    public GgufWriter putU8(String key, int value) {
        return set(key, ValueType.U8, (byte) checkRange(key, value, 0, 0xFF));
    }

    public GgufWriter putI8(String key, int value) {
        return set(key, ValueType.I8, (byte) checkRange(key, value, Byte.MIN_VALUE, Byte.MAX_VALUE));
    }

    public GgufWriter putU16(String key, int value) {
        return set(key, ValueType.U16, (short) checkRange(key, value, 0, 0xFFFF));
    }

    public GgufWriter putI16(String key, int value) {
        return set(key, ValueType.I16, (short) checkRange(key, value, Short.MIN_VALUE, Short.MAX_VALUE));
    }

    public GgufWriter putU32(String key, long value) {
        return set(key, ValueType.U32, (int) checkRange(key, value, 0, 0xFFFF_FFFFL));
    }

    public GgufWriter putI32(String key, int value) {
        return set(key, ValueType.I32, value);
    }

    /** A u64; values of 2^63 and above are given as negative longs (their two's complement bits). */
    public GgufWriter putU64(String key, long value) {
        return set(key, ValueType.U64, value);
    }

    public GgufWriter putI64(String key, long value) {
        return set(key, ValueType.I64, value);
    }

    public GgufWriter putF32(String key, float value) {
        return set(key, ValueType.F32, value);
    }

    public GgufWriter putF64(String key, double value) {
        return set(key, ValueType.F64, value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return set(key, ValueType.BOOL, value);
    }

    public GgufWriter putString(String key, String value) {
        return set(key, ValueType.STRING, Objects.requireNonNull(value, key));
    }

    /** Same as {@link #putString}. */
    public GgufWriter put(String key, String value) {
        return putString(key, value);
    }

    /**
     * Any value {@link GgufFile} returns: {@code Integer} is written as i32; {@code Long} as u32 when it fits
     * (llama.cpp reads its integer hyper-parameters as u32, and the reader folds u32 into Long) and as i64
     * otherwise; {@code Float} f32, {@code Double} f64, {@code Boolean} bool, {@code String} string,
     * {@code Byte}/{@code Short} i8/i16; arrays as by {@link #putArray(String, Object)}.
     */
    public GgufWriter put(String key, Object value) {
        Value v = infer(key, value);
        return set(key, v.type, v.value);
    }

    /** Removes a key (e.g. to test a model with a missing hyper-parameter). */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    // ---- metadata arrays ----

    public GgufWriter putArray(String key, String[] values) {
        return putArray(key, ValueType.STRING, values);
    }

    /** An array of i32. */
    public GgufWriter putArray(String key, int[] values) {
        return putArray(key, ValueType.I32, values);
    }

    /** An array of i64 (use {@link #putArray(String, ValueType, Object)} for u64 or u32). */
    public GgufWriter putArray(String key, long[] values) {
        return putArray(key, ValueType.I64, values);
    }

    public GgufWriter putArray(String key, float[] values) {
        return putArray(key, ValueType.F32, values);
    }

    public GgufWriter putArray(String key, double[] values) {
        return putArray(key, ValueType.F64, values);
    }

    public GgufWriter putArray(String key, boolean[] values) {
        return putArray(key, ValueType.BOOL, values);
    }

    /** An array of arrays: each element is any array {@link #putArray(String, Object)} accepts. */
    public GgufWriter putArray(String key, Object[] arrays) {
        return putArray(key, ValueType.ARRAY, arrays);
    }

    /**
     * An array of the Java array type {@link GgufFile} returns for it: {@code int[]} i32, {@code long[]} i64,
     * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, {@code Object[]} of arrays;
     * {@code byte[]} i8 and {@code short[]} i16.
     */
    public GgufWriter putArray(String key, Object array) {
        Value v = inferArray(key, array);
        return set(key, v.type, v.value);
    }

    /**
     * An array with an explicit element type: {@code int[]} for u8, i8, u16, i16, i32 (each value range
     * checked) and for u32; {@code long[]} for u32, u64, i64; {@code float[]} f32; {@code double[]} f64;
     * {@code boolean[]}; {@code String[]}; {@code Object[]} of arrays for {@link ValueType#ARRAY}.
     */
    public GgufWriter putArray(String key, ValueType elementType, Object array) {
        return set(key, ValueType.ARRAY, typedArray(key, elementType, array));
    }

    // ---- tensors ----

    /** A tensor whose data are {@code data}: raw GGML blocks, {@code type.byteSize(elements)} bytes. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, byte[] data) {
        byte[] copy = data.clone();
        return addTensor(name, type, shape, copy.length, out -> writeFully(out, ByteBuffer.wrap(copy)));
    }

    /** A tensor whose data are the {@code data} buffer's remaining bytes (a slice of a mapped file, say). */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, ByteBuffer data) {
        ByteBuffer view = data.duplicate();
        return addTensor(name, type, shape, view.remaining(), out -> writeFully(out, view.duplicate()));
    }

    /**
     * A tensor whose {@code byteSize} bytes are written by {@code source} when the file is written, so they
     * never need to be in memory all at once. Writing a different number of bytes fails the write.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, long byteSize, TensorDataSource source) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(type, "type");
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' is already added");
        }
        long[] dims = shape.clone();
        long expected = expectedBytes(name, type, dims);
        if (byteSize != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' " + type + " " + Arrays.toString(dims)
                    + " needs " + expected + " bytes of data, not " + byteSize);
        }
        tensors.put(name, new Tensor(name, type, dims, byteSize, source));
        return this;
    }

    /**
     * A tensor of zero bytes that is not written but skipped over, so on filesystems with sparse files it
     * takes no disk space: for huge test files.
     */
    public GgufWriter addZeroTensor(String name, GgmlType type, long[] shape) {
        long[] dims = shape.clone();
        return addTensor(name, type, dims, expectedBytes(name, type, dims), ZEROS);
    }

    /** The alignment of tensor data this writer will use: {@code general.alignment}, else 32. */
    public int alignment() {
        Value v = metadata.get("general.alignment");
        if (v == null) {
            return GgufReader.DEFAULT_ALIGNMENT;
        }
        long a = switch (v.type) {
            case U8 -> Byte.toUnsignedLong((Byte) v.value);
            case U16 -> Short.toUnsignedLong((Short) v.value);
            case U32 -> Integer.toUnsignedLong((Integer) v.value);
            case I8, I16, I32, U64, I64 -> ((Number) v.value).longValue();
            default -> -1;
        };
        if (a <= 0 || a > GgufReader.MAX_ALIGNMENT || Long.bitCount(a) != 1) {
            throw new IllegalStateException("general.alignment must be a power of two up to "
                    + GgufReader.MAX_ALIGNMENT + ", not " + v.value);
        }
        return (int) a;
    }

    /**
     * Writes the file, replacing any file at {@code path}. On failure the partial file is deleted.
     *
     * @throws UncheckedIOException when the file cannot be written or a data source fails
     */
    public void write(Path path) {
        int alignment = alignment();
        byte[] header = header(alignment);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, ByteBuffer.wrap(header));
            long dataStart = align(header.length, alignment);
            long offset = 0;
            for (Tensor t : tensors.values()) {
                long start = dataStart + offset;
                padTo(ch, start);
                if (t.source == ZEROS) {
                    ch.position(start + t.byteSize);
                } else {
                    CountingChannel counter = new CountingChannel(ch, t.name, t.byteSize);
                    t.source.writeTo(counter);
                    if (counter.written != t.byteSize) {
                        throw new IOException("the data source of tensor '" + t.name + "' wrote " + counter.written
                                + " bytes, expected " + t.byteSize);
                    }
                }
                offset = align(offset + t.byteSize, alignment);
            }
            long end = ch.position();
            if (ch.size() < end) {
                // The last tensor was a hole: one zero byte at the very end gives the file its full length.
                writeFully(ch, ByteBuffer.allocate(1), end - 1);
            }
        } catch (IOException e) {
            deleteQuietly(path, e);
            throw new UncheckedIOException(path + ": cannot write GGUF file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(path, e);
            throw e;
        }
    }

    // ---- header serialization ----

    private byte[] header(int alignment) {
        LittleEndianBuffer out = new LittleEndianBuffer();
        out.u32(GgufReader.MAGIC);
        out.u32(version);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type.id);
            writeValue(out, e.getValue());
        }
        long offset = 0;
        for (Tensor t : tensors.values()) {
            out.string(t.name);
            out.u32(t.shape.length);
            for (long d : t.shape) {
                out.u64(d);
            }
            out.u32(t.type.id());
            out.u64(offset);
            offset = align(offset + t.byteSize, alignment);
        }
        return out.toByteArray();
    }

    private static void writeValue(LittleEndianBuffer out, Value v) {
        switch (v.type) {
            case U8, I8 -> out.u8((Byte) v.value);
            case U16, I16 -> out.u16((Short) v.value);
            case U32, I32 -> out.u32((Integer) v.value);
            case U64, I64 -> out.u64((Long) v.value);
            case F32 -> out.u32(Float.floatToRawIntBits((Float) v.value));
            case F64 -> out.u64(Double.doubleToRawLongBits((Double) v.value));
            case BOOL -> out.u8((Boolean) v.value ? 1 : 0);
            case STRING -> out.string((String) v.value);
            case ARRAY -> writeArray(out, (TypedArray) v.value);
        }
    }

    private static void writeArray(LittleEndianBuffer out, TypedArray a) {
        out.u32(a.elementType.id);
        switch (a.elementType) {
            case U8, I8 -> {
                byte[] x = (byte[]) a.values;
                out.u64(x.length);
                out.bytes(x);
            }
            case U16, I16 -> {
                short[] x = (short[]) a.values;
                out.u64(x.length);
                for (short s : x) {
                    out.u16(s);
                }
            }
            case U32, I32 -> {
                int[] x = (int[]) a.values;
                out.u64(x.length);
                for (int i : x) {
                    out.u32(i);
                }
            }
            case U64, I64 -> {
                long[] x = (long[]) a.values;
                out.u64(x.length);
                for (long l : x) {
                    out.u64(l);
                }
            }
            case F32 -> {
                float[] x = (float[]) a.values;
                out.u64(x.length);
                for (float f : x) {
                    out.u32(Float.floatToRawIntBits(f));
                }
            }
            case F64 -> {
                double[] x = (double[]) a.values;
                out.u64(x.length);
                for (double d : x) {
                    out.u64(Double.doubleToRawLongBits(d));
                }
            }
            case BOOL -> {
                boolean[] x = (boolean[]) a.values;
                out.u64(x.length);
                for (boolean b : x) {
                    out.u8(b ? 1 : 0);
                }
            }
            case STRING -> {
                String[] x = (String[]) a.values;
                out.u64(x.length);
                for (String s : x) {
                    out.string(s);
                }
            }
            case ARRAY -> {
                TypedArray[] x = (TypedArray[]) a.values;
                out.u64(x.length);
                for (TypedArray inner : x) {
                    writeArray(out, inner);
                }
            }
        }
    }

    // ---- value conversion ----

    /** An array converted to the primitive form its element type is written from (bytes for u8, etc.). */
    private record TypedArray(ValueType elementType, Object values) {}

    private GgufWriter set(String key, ValueType type, Object value) {
        Objects.requireNonNull(key, "key");
        metadata.put(key, new Value(type, value));
        return this;
    }

    private static Value infer(String key, Object value) {
        return switch (value) {
            case null -> throw new IllegalArgumentException("metadata '" + key + "' has no value (null)");
            case String s -> new Value(ValueType.STRING, s);
            case Integer i -> new Value(ValueType.I32, i);
            case Long l -> l >= 0 && l <= 0xFFFF_FFFFL
                    ? new Value(ValueType.U32, (int) (long) l) : new Value(ValueType.I64, l);
            case Float f -> new Value(ValueType.F32, f);
            case Double d -> new Value(ValueType.F64, d);
            case Boolean b -> new Value(ValueType.BOOL, b);
            case Byte b -> new Value(ValueType.I8, b);
            case Short s -> new Value(ValueType.I16, s);
            default -> {
                if (!value.getClass().isArray()) {
                    throw new IllegalArgumentException("metadata '" + key + "': GGUF has no type for "
                            + value.getClass().getName());
                }
                yield inferArray(key, value);
            }
        };
    }

    private static Value inferArray(String key, Object array) {
        ValueType elementType = switch (array) {
            case null -> throw new IllegalArgumentException("metadata '" + key + "' has no value (null)");
            case byte[] a -> ValueType.I8;
            case short[] a -> ValueType.I16;
            case int[] a -> ValueType.I32;
            case long[] a -> ValueType.I64;
            case float[] a -> ValueType.F32;
            case double[] a -> ValueType.F64;
            case boolean[] a -> ValueType.BOOL;
            case String[] a -> ValueType.STRING;
            case Object[] a -> ValueType.ARRAY;
            default -> throw new IllegalArgumentException("metadata '" + key + "': GGUF has no array type for "
                    + array.getClass().getName());
        };
        return new Value(ValueType.ARRAY, typedArray(key, elementType, array));
    }

    private static TypedArray typedArray(String key, ValueType elementType, Object array) {
        Objects.requireNonNull(elementType, "elementType");
        Objects.requireNonNull(array, key);
        Object values = switch (elementType) {
            case U8 -> narrow(key, array, 0, 0xFF, true);
            case I8 -> array instanceof byte[] b ? b.clone() : narrow(key, array, Byte.MIN_VALUE, Byte.MAX_VALUE, true);
            case U16 -> narrow(key, array, 0, 0xFFFF, false);
            case I16 -> array instanceof short[] s ? s.clone()
                    : narrow(key, array, Short.MIN_VALUE, Short.MAX_VALUE, false);
            case I32 -> cast(key, array, int[].class, elementType).clone();
            case U32 -> {
                if (array instanceof int[] a) {
                    yield a.clone(); // the bits as given: -1 is 0xFFFFFFFF
                }
                long[] a = cast(key, array, long[].class, elementType);
                int[] out = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    out[i] = (int) checkRange(key, a[i], 0, 0xFFFF_FFFFL);
                }
                yield out;
            }
            case U64, I64 -> cast(key, array, long[].class, elementType).clone();
            case F32 -> cast(key, array, float[].class, elementType).clone();
            case F64 -> cast(key, array, double[].class, elementType).clone();
            case BOOL -> cast(key, array, boolean[].class, elementType).clone();
            case STRING -> {
                String[] a = cast(key, array, String[].class, elementType).clone();
                for (String s : a) {
                    Objects.requireNonNull(s, () -> "metadata '" + key + "' has a null string");
                }
                yield a;
            }
            case ARRAY -> {
                Object[] a = cast(key, array, Object[].class, elementType);
                TypedArray[] out = new TypedArray[a.length];
                for (int i = 0; i < a.length; i++) {
                    out[i] = a[i] instanceof TypedArray t ? t : (TypedArray) inferArray(key, a[i]).value;
                }
                yield out;
            }
        };
        return new TypedArray(elementType, values);
    }

    private static <T> T cast(String key, Object array, Class<T> javaType, ValueType elementType) {
        if (!javaType.isInstance(array)) {
            throw new IllegalArgumentException("metadata '" + key + "': an array of " + elementType + " is given as "
                    + javaType.getSimpleName() + ", not " + array.getClass().getSimpleName());
        }
        return javaType.cast(array);
    }

    /** An int[] checked against [min, max] and narrowed to byte[] or short[]. */
    private static Object narrow(String key, Object array, int min, int max, boolean toBytes) {
        int[] a = cast(key, array, int[].class, toBytes ? ValueType.U8 : ValueType.U16);
        byte[] bytes = toBytes ? new byte[a.length] : null;
        short[] shorts = toBytes ? null : new short[a.length];
        for (int i = 0; i < a.length; i++) {
            int v = (int) checkRange(key, a[i], min, max);
            if (toBytes) {
                bytes[i] = (byte) v;
            } else {
                shorts[i] = (short) v;
            }
        }
        return toBytes ? bytes : shorts;
    }

    private static long checkRange(String key, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException("metadata '" + key + "': " + value + " is outside [" + min + ", " + max + "]");
        }
        return value;
    }

    private static long expectedBytes(String name, GgmlType type, long[] shape) {
        if (shape.length < 1 || shape.length > 4) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + shape.length + " dimensions (GGUF allows 1 to 4)");
        }
        long elements = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has dimension " + d + " in " + Arrays.toString(shape));
            }
            elements = Math.multiplyExact(elements, d);
        }
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' row length " + shape[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        return Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
    }

    // ---- output helpers ----

    private static long align(long n, int alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static void padTo(FileChannel ch, long position) throws IOException {
        long pad = position - ch.position();
        if (pad > 0) {
            writeFully(ch, ByteBuffer.allocate((int) pad));
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            position += out.write(buf, position);
        }
    }

    private static void deleteQuietly(Path path, Exception cause) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    /** Passes a tensor's bytes through to the file, refusing any beyond its declared size. */
    private static final class CountingChannel implements WritableByteChannel {
        private final FileChannel target;
        private final String name;
        private final long limit;
        private long written;
        private boolean open = true;

        CountingChannel(FileChannel target, String name, long limit) {
            this.target = target;
            this.name = name;
            this.limit = limit;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (!open) {
                throw new ClosedChannelException();
            }
            if (src.remaining() > limit - written) {
                throw new IOException("the data source of tensor '" + name + "' writes more than its "
                        + limit + " bytes");
            }
            int n = target.write(src);
            written += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        /** Closing ends this tensor's writes only; the file stays open for the next tensor. */
        @Override
        public void close() {
            open = false;
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class LittleEndianBuffer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u8(int v) {
            bytes.write(v);
        }

        void u16(short v) {
            scratch.clear();
            scratch.putShort(v);
            bytes.write(scratch.array(), 0, 2);
        }

        void u32(int v) {
            scratch.clear();
            scratch.putInt(v);
            bytes.write(scratch.array(), 0, 4);
        }

        void u64(long v) {
            scratch.clear();
            scratch.putLong(v);
            bytes.write(scratch.array(), 0, 8);
        }

        void bytes(byte[] b) {
            bytes.write(b, 0, b.length);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            bytes(utf8);
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }
}
