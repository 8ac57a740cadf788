package dev.jgpt.engine.constrain;

import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A tokenizer's vocabulary prepared for masking, built once per tokenizer: every token's output bytes, the
 * tokens sorted by those bytes with the length of the prefix each shares with the one before (so a walk
 * through the automaton reuses the state of the shared prefix and skips every token under a dead prefix),
 * and the "plain text" tokens that inside a string only add characters.
 */
final class TokenTable {
    private static final Map<Tokenizer, TokenTable> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    final int vocabSize;
    final byte[][] bytes;
    final int[] endOfGeneration;
    /** Every token with output bytes, sorted by them; {@code allShared[i]}: bytes shared with the previous. */
    final int[] all;
    final int[] allShared;
    /** The tokens that are not plain text, sorted likewise. */
    final int[] special;
    final int[] specialShared;
    /** Plain-text tokens: no quote, backslash or control byte, whole UTF-8 characters; their char counts. */
    final int[] plain;
    final int[] plainChars;
    final int longest;

    private TokenTable(Tokenizer tokenizer) {
        vocabSize = tokenizer.vocabSize();
        bytes = new byte[vocabSize][];
        int eog = 0;
        int withBytes = 0;
        int plainCount = 0;
        int[] chars = new int[vocabSize];
        int max = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                eog++;
                bytes[id] = new byte[0];
                continue;
            }
            bytes[id] = tokenizer.tokenBytes(id, false);
            if (bytes[id].length > 0) {
                withBytes++;
                max = Math.max(max, bytes[id].length);
                chars[id] = plainTextChars(bytes[id]);
                if (chars[id] >= 0) {
                    plainCount++;
                }
            }
        }
        longest = max;
        endOfGeneration = new int[eog];
        Integer[] sorted = new Integer[withBytes];
        plain = new int[plainCount];
        plainChars = new int[plainCount];
        for (int id = 0, e = 0, s = 0, p = 0; id < vocabSize; id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                endOfGeneration[e++] = id;
            } else if (bytes[id].length > 0) {
                sorted[s++] = id;
                if (chars[id] >= 0) {
                    plain[p] = id;
                    plainChars[p++] = chars[id];
                }
            }
        }
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        all = new int[withBytes];
        for (int i = 0; i < withBytes; i++) {
            all[i] = sorted[i];
        }
        allShared = sharedPrefixes(all);
        special = Arrays.stream(all).filter(id -> chars[id] < 0).toArray();
        specialShared = sharedPrefixes(special);
    }

    static TokenTable of(Tokenizer tokenizer) {
        return CACHE.computeIfAbsent(tokenizer, TokenTable::new);
    }

    private int[] sharedPrefixes(int[] order) {
        int[] shared = new int[order.length];
        for (int i = 1; i < order.length; i++) {
            byte[] a = bytes[order[i - 1]];
            byte[] b = bytes[order[i]];
            int mismatch = Arrays.mismatch(a, b);
            shared[i] = mismatch < 0 ? a.length : mismatch;
        }
        return shared;
    }

    /**
     * The characters of a token that is plain string text, or -1: bytes 0x20..0x7F other than quote and
     * backslash, and complete well-formed multi-byte UTF-8 characters.
     */
    static int plainTextChars(byte[] b) {
        int chars = 0;
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xFF;
            int length;
            int low = 0x80;
            int high = 0xBF;
            if (c < 0x80) {
                if (c < 0x20 || c == '"' || c == '\\') {
                    return -1;
                }
                length = 1;
            } else if (c >= 0xC2 && c <= 0xDF) {
                length = 2;
            } else if (c >= 0xE0 && c <= 0xEF) {
                length = 3;
                low = c == 0xE0 ? 0xA0 : 0x80;
                high = c == 0xED ? 0x9F : 0xBF;
            } else if (c >= 0xF0 && c <= 0xF4) {
                length = 4;
                low = c == 0xF0 ? 0x90 : 0x80;
                high = c == 0xF4 ? 0x8F : 0xBF;
            } else {
                return -1;
            }
            if (i + length > b.length) {
                return -1;
            }
            for (int k = 1; k < length; k++) {
                int cc = b[i + k] & 0xFF;
                if (cc < (k == 1 ? low : 0x80) || cc > (k == 1 ? high : 0xBF)) {
                    return -1;
                }
            }
            i += length;
            chars++;
        }
        return chars;
    }
}
