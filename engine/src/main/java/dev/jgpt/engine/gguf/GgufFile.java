package dev.jgpt.engine.gguf;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;

/**
 * A parsed GGUF file: its metadata and tensors, whose data stay in the memory-mapped file.
 * Closing it unmaps the file; tensors must not be used afterwards.
 *
 * <p>Metadata values are Java objects: {@code Integer} (u8, i8, u16, i16, i32), {@code Long} (u32, u64,
 * i64), {@code Float}, {@code Double}, {@code Boolean}, {@code String}; arrays become {@code int[]},
 * {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]} or, for arrays of
 * arrays, {@code Object[]}.
 */
public final class GgufFile implements AutoCloseable {
    private final Path path;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long fileSize;
    private final Arena arena;

    GgufFile(Path path, int version, Map<String, Object> metadata, Map<String, GgufTensorInfo> tensors,
             long fileSize, Arena arena) {
        this.path = path;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.fileSize = fileSize;
        this.arena = arena;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public long fileSize() {
        return fileSize;
    }

    /** All metadata, in file order. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** All tensors by name, in file order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public Object get(String key) {
        return metadata.get(key);
    }

    public String getString(String key) {
        Object v = require(key);
        if (v instanceof String s) {
            return s;
        }
        throw wrongType(key, "a string", v);
    }

    public String getString(String key, String fallback) {
        return has(key) ? getString(key) : fallback;
    }

    public long getLong(String key) {
        Object v = require(key);
        if (v instanceof Number n && !(v instanceof Float) && !(v instanceof Double)) {
            return n.longValue();
        }
        throw wrongType(key, "an integer", v);
    }

    public long getLong(String key, long fallback) {
        return has(key) ? getLong(key) : fallback;
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v != (int) v) {
            throw new GgufFormatException(path + ": metadata key '" + key + "' is " + v + ", too large for an int");
        }
        return (int) v;
    }

    public int getInt(String key, int fallback) {
        return has(key) ? getInt(key) : fallback;
    }

    public double getDouble(String key) {
        Object v = require(key);
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw wrongType(key, "a number", v);
    }

    public double getDouble(String key, double fallback) {
        return has(key) ? getDouble(key) : fallback;
    }

    public boolean getBoolean(String key, boolean fallback) {
        Object v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw wrongType(key, "a boolean", v);
    }

    public String[] getStringArray(String key) {
        Object v = require(key);
        if (v instanceof String[] a) {
            return a;
        }
        throw wrongType(key, "an array of strings", v);
    }

    public float[] getFloatArray(String key) {
        Object v = require(key);
        if (v instanceof float[] a) {
            return a;
        }
        throw wrongType(key, "an array of float32", v);
    }

    /** An integer array of any width, widened to int. */
    public int[] getIntArray(String key) {
        Object v = require(key);
        if (v instanceof int[] a) {
            return a;
        }
        if (v instanceof long[] a) {
            int[] out = new int[a.length];
            for (int i = 0; i < a.length; i++) {
                if (a[i] != (int) a[i]) {
                    throw new GgufFormatException(path + ": metadata key '" + key + "' element " + i + " is " + a[i]
                            + ", too large for an int");
                }
                out[i] = (int) a[i];
            }
            return out;
        }
        throw wrongType(key, "an array of integers", v);
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new GgufFormatException(path + ": tensor '" + name + "' is missing");
        }
        return t;
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) {
            throw new GgufFormatException(path + ": metadata key '" + key + "' is missing");
        }
        return v;
    }

    private GgufFormatException wrongType(String key, String expected, Object actual) {
        return new GgufFormatException(path + ": metadata key '" + key + "' should be " + expected
                + " but is " + actual.getClass().getSimpleName());
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
