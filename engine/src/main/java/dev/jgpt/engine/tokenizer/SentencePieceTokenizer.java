package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style tokenizer ({@code tokenizer.ggml.model = llama}): spaces become U+2581, characters
 * are merged greedily by the score of the merged piece, and pieces missing from the vocabulary fall back
 * to byte tokens {@code <0xNN>}. Mirrors llama.cpp's SPM tokenizer so ids match it exactly.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final char SPACE = '\u2581';

    private final Vocabulary vocab;
    private final boolean addSpacePrefix;
    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(GgufFile gguf) {
        vocab = new Vocabulary(gguf, true);
        addSpacePrefix = gguf.getBoolean("tokenizer.ggml.add_space_prefix", true);
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = vocab.idOf(String.format("<0x%02X>", b));
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        boolean prevSpecial = true; // the first fragment gets the space prefix
        if (addSpecial && vocab.addBos) {
            out.add(vocab.bos);
        }
        for (Object fragment : vocab.splitSpecials(text, parseSpecial)) {
            if (fragment instanceof Integer id) {
                out.add(id);
                prevSpecial = true;
                continue;
            }
            String raw = (String) fragment;
            if (raw.isEmpty()) {
                continue;
            }
            String s = (addSpacePrefix && prevSpecial ? " " : "") + raw;
            tokenizeRaw(s.replace(' ', SPACE), out);
            prevSpecial = false;
        }
        if (addSpecial && vocab.addEos) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    /** One symbol of the merge: a substring of the text, linked to its neighbours. */
    private static final class Symbol {
        int start;
        int length;
        int prev;
        int next;
    }

    private record Bigram(int left, int right, float score, int length) {
    }

    private void tokenizeRaw(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        // Split into characters (code points).
        int count = text.codePointCount(0, text.length());
        Symbol[] symbols = new Symbol[count];
        int offset = 0;
        for (int i = 0; i < count; i++) {
            Symbol s = new Symbol();
            s.start = offset;
            s.length = Character.charCount(text.codePointAt(offset));
            offset += s.length;
            s.prev = i - 1;
            s.next = i + 1 < count ? i + 1 : -1;
            symbols[i] = s;
        }
        // Highest score first; on ties, the leftmost pair.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        Map<String, int[]> reverseMerges = new HashMap<>();
        for (int i = 1; i < count; i++) {
            tryAddBigram(text, symbols, i - 1, i, queue, reverseMerges);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            Symbol left = symbols[b.left];
            Symbol right = symbols[b.right];
            if (left.length == 0 || right.length == 0 || left.length + right.length != b.length) {
                continue; // one side was merged since this pair was queued
            }
            left.length += right.length;
            right.length = 0;
            left.next = right.next;
            if (right.next >= 0) {
                symbols[right.next].prev = b.left;
            }
            tryAddBigram(text, symbols, left.prev, b.left, queue, reverseMerges);
            tryAddBigram(text, symbols, b.left, left.next, queue, reverseMerges);
        }
        for (int i = 0; i != -1; i = symbols[i].next) {
            Symbol s = symbols[i];
            resegment(text, symbols, text.substring(s.start, s.start + s.length), reverseMerges, out);
        }
    }

    private void tryAddBigram(String text, Symbol[] symbols, int left, int right, PriorityQueue<Bigram> queue,
                              Map<String, int[]> reverseMerges) {
        if (left == -1 || right == -1) {
            return;
        }
        Symbol l = symbols[left];
        Symbol r = symbols[right];
        String merged = text.substring(l.start, l.start + l.length + r.length);
        int id = vocab.idOf(merged);
        if (id < 0) {
            return;
        }
        queue.add(new Bigram(left, right, vocab.scores[id], merged.length()));
        reverseMerges.put(merged, new int[] {left, right});
    }

    private void resegment(String text, Symbol[] symbols, String piece, Map<String, int[]> reverseMerges, IntList out) {
        int id = vocab.idOf(piece);
        if (id >= 0) {
            out.add(id);
            return;
        }
        int[] parts = reverseMerges.get(piece);
        if (parts == null) {
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int t = byteTokens[b & 0xff];
                out.add(t >= 0 ? t : vocab.unknown);
            }
            return;
        }
        // Re-derive both halves' text from their start and the piece boundaries.
        Symbol left = symbols[parts[0]];
        Symbol right = symbols[parts[1]];
        int leftStart = left.start;
        int rightStart = right.start;
        int end = leftStart + piece.length();
        resegment(text, symbols, text.substring(leftStart, rightStart), reverseMerges, out);
        resegment(text, symbols, text.substring(rightStart, end), reverseMerges, out);
    }

    @Override
    public String decode(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean first = true;
        for (int id : ids) {
            byte[] piece = renderSpecial && vocab.isControl(id)
                    ? vocab.tokens[id].getBytes(StandardCharsets.UTF_8) : tokenBytes(id);
            if (first && addSpacePrefix && piece.length > 0 && piece[0] == ' ') {
                bytes.write(piece, 1, piece.length - 1);
            } else {
                bytes.writeBytes(piece);
            }
            if (piece.length > 0) {
                first = false;
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return switch (vocab.types[id]) {
            case Vocabulary.CONTROL, Vocabulary.UNUSED -> new byte[0];
            case Vocabulary.BYTE -> new byte[] {(byte) Integer.parseInt(vocab.tokens[id].substring(3, 5), 16)};
            default -> vocab.tokens[id].replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
        };
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public int bos() {
        return vocab.bos;
    }

    @Override
    public int eos() {
        return vocab.eos;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return vocab.endOfGeneration.contains(id);
    }

    @Override
    public String tokenText(int id) {
        return vocab.tokens[id];
    }

    @Override
    public int tokenId(String text) {
        return vocab.idOf(text);
    }

    List<Integer> literalSpecials() {
        return vocab.literalSpecials;
    }
}
