package dev.jgpt.engine.generate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of byte pieces (tokens) into text without splitting multi-byte UTF-8 characters: bytes of
 * an incomplete character wait for the next piece. Invalid sequences become U+FFFD, as in any decoder.
 */
public final class Utf8Accumulator {
    private byte[] pending = new byte[16];
    private int length;

    /** Adds bytes and returns the text that is complete so far (possibly empty). */
    public String accept(byte[] bytes) {
        if (length + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, length, bytes.length);
        length += bytes.length;
        int complete = completePrefix();
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, length - complete);
        length -= complete;
        return text;
    }

    /** Whatever is left, decoded as is (an incomplete character becomes U+FFFD). */
    public String flush() {
        String text = new String(pending, 0, length, StandardCharsets.UTF_8);
        length = 0;
        return text;
    }

    /** Length of the prefix that does not end inside a multi-byte character. */
    private int completePrefix() {
        // Look back at most 3 bytes for the start of the last character.
        for (int back = 1; back <= Math.min(4, length); back++) {
            int b = pending[length - back] & 0xff;
            if ((b & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for the lead byte
            }
            int needed = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needed > back ? length - back : length;
        }
        return length;
    }
}
