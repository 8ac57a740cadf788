package dev.jgpt.engine.gguf;

import dev.jgpt.engine.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file: its name, shape (GGML order: {@code shape[0]} is the contiguous
 * row length), element type, and the slice of the mapped file holding its data.
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset, MemorySegment data) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Elements in one row (the contiguous dimension). */
    public long rowLength() {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** Number of rows: all dimensions but the first. */
    public long rowCount() {
        return shape.length == 0 ? 1 : elementCount() / shape[0];
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
