package dev.jgpt.engine.gguf;

import dev.jgpt.engine.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads GGUF v2/v3 files (little-endian) by memory-mapping them: the header and metadata are parsed,
 * tensor data stay in the mapping, so files larger than 2 GiB and larger than the heap work.
 * Every read is bounds-checked, so a truncated or corrupt file gives a {@link GgufFormatException}
 * that says what is wrong and where.
 */
public final class GgufReader {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int DEFAULT_ALIGNMENT = 32;
    /** Larger alignments are surely corruption, and would overflow offset arithmetic. */
    static final int MAX_ALIGNMENT = 1 << 30;
    /** GGUF allows arrays of arrays; deeper nesting than this is corruption (and would overflow the stack). */
    private static final int MAX_ARRAY_DEPTH = 16;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final MemorySegment file;
    private long pos;

    private GgufReader(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
    }

    /** Maps and parses {@code path}. The returned file owns the mapping: close it to unmap. */
    public static GgufFile read(Path path) {
        if (!Files.exists(path)) {
            throw new GgufFormatException(path + ": no such file");
        }
        if (Files.isDirectory(path)) {
            throw new GgufFormatException(path + ": is a directory, not a GGUF file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment segment = size == 0 ? MemorySegment.NULL.reinterpret(0)
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GgufReader(path, segment).parse(arena, size);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new GgufFormatException(path + ": no such file", e);
        } catch (IOException e) {
            arena.close();
            throw new GgufFormatException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private GgufFile parse(Arena arena, long size) {
        if (size == 0) {
            throw error("file is empty, not a GGUF file");
        }
        if (size < 4) {
            throw error("file is too small to be a GGUF file (" + size + " bytes)");
        }
        int magic = file.get(U32, 0);
        if (magic != MAGIC) {
            throw error("not a GGUF file (it starts with " + describeMagic() + ", a GGUF file starts with 'GGUF')");
        }
        pos = 4;
        int version = readU32AsInt("version");
        if (version != 0 && (version & 0xFFFF) == 0) {
            throw error("GGUF version " + Integer.toUnsignedString(version) + " looks byte-swapped: "
                    + "big-endian GGUF files are not supported (use a little-endian conversion of the model)");
        }
        if (version == 1) {
            throw error("GGUF version 1 is not supported (re-convert the model with a current llama.cpp)");
        }
        if (version < 1 || version > 3) {
            throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (jgpt reads versions 2 and 3)");
        }
        long tensorCount = readCount("tensor count");
        long kvCount = readCount("metadata count");

        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = readString("metadata key #" + i);
            if (metadata.containsKey(key)) {
                throw error("metadata key '" + key + "' appears twice");
            }
            int type = readU32AsInt("type of '" + key + "'");
            metadata.put(key, readValue(type, key, 0));
        }

        int alignment = DEFAULT_ALIGNMENT;
        Object alignValue = metadata.get("general.alignment");
        if (alignValue != null) {
            if (!(alignValue instanceof Integer || alignValue instanceof Long)
                    || ((Number) alignValue).longValue() <= 0 || ((Number) alignValue).longValue() > MAX_ALIGNMENT
                    || Long.bitCount(((Number) alignValue).longValue()) != 1) {
                throw error("general.alignment must be a power of two up to " + MAX_ALIGNMENT + ", found "
                        + alignValue);
            }
            alignment = ((Number) alignValue).intValue();
        }

        record Pending(String name, long[] shape, GgmlType type, long offset) {}
        Pending[] pending = new Pending[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            String name = readString("name of tensor #" + i);
            int nDims = readU32AsInt("dimension count of tensor '" + name + "'");
            if (nDims < 1 || nDims > 4) {
                throw error("tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                        + " dimensions (expected 1 to 4)");
            }
            long[] shape = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                shape[d] = readU64("dimension " + d + " of tensor '" + name + "'");
                if (shape[d] <= 0 || shape[d] > (1L << 40)) {
                    throw error("tensor '" + name + "' has an invalid dimension " + Long.toUnsignedString(shape[d]));
                }
            }
            int typeId = readU32AsInt("type of tensor '" + name + "'");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw error("tensor '" + name + "' has unknown type id " + Integer.toUnsignedString(typeId));
            }
            long offset = readU64("offset of tensor '" + name + "'");
            if (offset % alignment != 0) {
                throw error("tensor '" + name + "' offset " + Long.toUnsignedString(offset) + " is not aligned to "
                        + alignment);
            }
            if (shape[0] % type.blockSize() != 0) {
                throw error("tensor '" + name + "' row length " + shape[0] + " is not a multiple of the "
                        + type + " block size " + type.blockSize());
            }
            pending[i] = new Pending(name, shape, type, offset);
        }

        long dataStart = (pos + alignment - 1) / alignment * alignment;
        Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
        for (Pending p : pending) {
            long bytes = byteSize(p.name, p.type, p.shape);
            // Offsets are u64: compare without overflow (a negative offset is one of 2^63 or more).
            if (p.offset < 0 || p.offset > size - dataStart || bytes > size - dataStart - p.offset) {
                throw error("file is truncated: tensor '" + p.name + "' (" + p.type + ", " + bytes + " bytes at "
                        + Long.toUnsignedString(p.offset) + " in the data section starting at byte " + dataStart
                        + ") ends past the end of the file (" + size + " bytes)");
            }
            long start = dataStart + p.offset;
            if (tensors.containsKey(p.name)) {
                throw error("tensor '" + p.name + "' appears twice");
            }
            tensors.put(p.name, new GgufTensorInfo(p.name, p.shape, p.type, p.offset, file.asSlice(start, bytes)));
        }
        return new GgufFile(path, version, metadata, tensors, size, arena);
    }

    /** A tensor's data size, or an error when its shape is so large the size does not fit in a long. */
    private long byteSize(String name, GgmlType type, long[] shape) {
        try {
            long elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            return Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
        } catch (ArithmeticException e) {
            throw error("tensor '" + name + "' shape " + Arrays.toString(shape) + " is too large ("
                    + "its size overflows 64 bits; the file is corrupt)");
        }
    }

    private Object readValue(int type, String key, int depth) {
        return switch (type) {
            case 0 -> Byte.toUnsignedInt(readBytes(1, key)[0]);
            case 1 -> (int) readBytes(1, key)[0];
            case 2 -> Short.toUnsignedInt(readU16(key));
            case 3 -> (int) readU16(key);
            case 4 -> Integer.toUnsignedLong(readU32AsInt(key));
            case 5 -> readU32AsInt(key);
            case 6 -> readF32(key);
            case 7 -> readBool(key);
            case 8 -> readString(key);
            case 9 -> readArray(key, depth);
            case 10, 11 -> readU64(key);
            case 12 -> readF64(key);
            default -> throw error("metadata key '" + key + "' has unknown value type "
                    + Integer.toUnsignedString(type));
        };
    }

    private Object readArray(String key, int depth) {
        if (depth >= MAX_ARRAY_DEPTH) {
            throw error("metadata array '" + key + "' nests arrays more than " + MAX_ARRAY_DEPTH + " deep (corrupt)");
        }
        int elemType = readU32AsInt("array type of '" + key + "'");
        long n = readCount("array length of '" + key + "'");
        int len = (int) n;
        // The smallest encoding of one element; strings and arrays carry a length of their own.
        int elemBytes = switch (elemType) {
            case 0, 1, 7 -> 1;
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 8, 10, 11, 12 -> 8;
            case 9 -> 12;
            default -> 0;
        };
        if (elemBytes > 0) {
            ensure((long) len * elemBytes, "array '" + key + "' of " + len + " elements");
        }
        switch (elemType) {
            case 0, 1, 2, 3, 5 -> {
                int[] a = new int[len];
                for (int i = 0; i < len; i++) {
                    a[i] = ((Number) readValue(elemType, key, depth)).intValue();
                }
                return a;
            }
            case 4, 10, 11 -> {
                long[] a = new long[len];
                for (int i = 0; i < len; i++) {
                    a[i] = ((Number) readValue(elemType, key, depth)).longValue();
                }
                return a;
            }
            case 6 -> {
                float[] a = new float[len];
                for (int i = 0; i < len; i++) {
                    a[i] = readF32(key);
                }
                return a;
            }
            case 12 -> {
                double[] a = new double[len];
                for (int i = 0; i < len; i++) {
                    a[i] = readF64(key);
                }
                return a;
            }
            case 7 -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) {
                    a[i] = readBool(key);
                }
                return a;
            }
            case 8 -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) {
                    a[i] = readString(key);
                }
                return a;
            }
            case 9 -> {
                Object[] a = new Object[len];
                for (int i = 0; i < len; i++) {
                    a[i] = readArray(key, depth + 1);
                }
                return a;
            }
            default -> throw error("metadata array '" + key + "' has unknown element type "
                    + Integer.toUnsignedString(elemType));
        }
    }

    private void ensure(long bytes, String what) {
        if (bytes < 0 || pos + bytes > file.byteSize() || pos + bytes < pos) {
            throw error("file is truncated while reading " + what + " at byte " + pos
                    + " (needs " + bytes + " bytes, file has " + file.byteSize() + ")");
        }
    }

    private int readU32AsInt(String what) {
        ensure(4, what);
        int v = file.get(U32, pos);
        pos += 4;
        return v;
    }

    private long readU64(String what) {
        ensure(8, what);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    /** A u64 count that must fit comfortably in memory (corrupt files often have absurd counts). */
    private long readCount(String what) {
        long n = readU64(what);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw error("implausible " + what + " " + Long.toUnsignedString(n) + " (the file is corrupt)");
        }
        // Each entry needs at least one byte, so a count larger than the rest of the file is corrupt.
        if (n > file.byteSize() - pos) {
            throw error(what + " " + n + " is larger than the rest of the file (the file is truncated or corrupt)");
        }
        return n;
    }

    private short readU16(String what) {
        ensure(2, what);
        short v = file.get(U16, pos);
        pos += 2;
        return v;
    }

    private float readF32(String what) {
        ensure(4, what);
        float v = file.get(F32, pos);
        pos += 4;
        return v;
    }

    private double readF64(String what) {
        ensure(8, what);
        double v = file.get(F64, pos);
        pos += 8;
        return v;
    }

    private boolean readBool(String what) {
        byte b = readBytes(1, what)[0];
        if (b != 0 && b != 1) {
            throw error("boolean " + what + " has invalid value " + b);
        }
        return b == 1;
    }

    private byte[] readBytes(int n, String what) {
        ensure(n, what);
        byte[] out = file.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return out;
    }

    private String readString(String what) {
        long len = readU64("length of " + what);
        if (len < 0 || len > file.byteSize() - pos || len > Integer.MAX_VALUE - 8) {
            throw error("file is truncated or corrupt: " + what + " claims " + Long.toUnsignedString(len)
                    + " bytes at byte " + pos + " but the file has " + file.byteSize());
        }
        byte[] bytes = file.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            // Some vocabularies hold raw byte tokens that are not valid UTF-8; keep them readable.
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** The first bytes of a file that is not GGUF, quoted when they are text and in hex otherwise. */
    private String describeMagic() {
        byte[] head = file.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE);
        boolean printable = true;
        for (byte b : head) {
            printable &= b >= 0x20 && b < 0x7F;
        }
        if (printable) {
            return "'" + new String(head, StandardCharsets.US_ASCII) + "'";
        }
        return String.format("bytes %02x %02x %02x %02x", head[0], head[1], head[2], head[3]);
    }

    private GgufFormatException error(String message) {
        return new GgufFormatException(path + ": " + message);
    }
}
