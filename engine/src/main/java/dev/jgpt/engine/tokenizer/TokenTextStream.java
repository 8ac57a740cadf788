package dev.jgpt.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns token ids, one at a time, into text that never ends inside a multi-byte UTF-8 character: byte
 * tokens such as {@code <0xE4><0xB8><0xAD>} wait for each other and come out as one character. Joined, the
 * chunks equal {@link Tokenizer#decode(int[], boolean)} of the same ids. Not thread-safe: one per stream.
 */
public final class TokenTextStream {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private boolean stripLeadingSpace;
    private byte[] pending = new byte[16];
    private int length;

    /**
     * @param startOfText   true when the ids begin a text of their own (the first token then loses the space
     *                      a SentencePiece encoder puts before text, as decode does); false when they continue
     *                      text that came before, such as tokens generated after a prompt
     * @param renderSpecial write control tokens out instead of leaving them out
     */
    public TokenTextStream(Tokenizer tokenizer, boolean startOfText, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
        this.stripLeadingSpace = startOfText && tokenizer.addsSpacePrefix();
    }

    /** A stream for tokens generated after a prompt: control tokens left out, no space removed. */
    public static TokenTextStream continuing(Tokenizer tokenizer) {
        return new TokenTextStream(tokenizer, false, false);
    }

    /** Adds one token and returns the text that is now complete (often empty while a character is pending). */
    public String accept(int id) {
        byte[] piece = tokenizer.tokenBytes(id, renderSpecial);
        int skip = stripLeadingSpace && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
        stripLeadingSpace = false; // only the very first token, as llama.cpp's detokenizer does
        append(piece, skip);
        int complete = completePrefix();
        if (complete == 0) {
            return "";
        }
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, length - complete);
        length -= complete;
        return text;
    }

    /** Whatever is still pending, decoded as is: an unfinished character becomes U+FFFD. */
    public String flush() {
        String text = new String(pending, 0, length, StandardCharsets.UTF_8);
        length = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are waiting. */
    public boolean hasPending() {
        return length > 0;
    }

    private void append(byte[] piece, int from) {
        int count = piece.length - from;
        if (length + count > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + count));
        }
        System.arraycopy(piece, from, pending, length, count);
        length += count;
    }

    /** Length of the pending bytes that do not end inside a character that more bytes could complete. */
    private int completePrefix() {
        for (int back = 1; back <= Math.min(4, length); back++) {
            int b = pending[length - back] & 0xff;
            if ((b & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back for the lead byte
            }
            int needed = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needed > back ? length - back : length;
        }
        return length; // four continuation bytes in a row: invalid, nothing to wait for
    }
}
