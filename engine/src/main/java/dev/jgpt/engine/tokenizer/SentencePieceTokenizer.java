package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style tokenizer ({@code tokenizer.ggml.model = llama}) as llama.cpp implements it: spaces
 * become U+2581, a space is put before text that starts the input or follows a special token, adjacent
 * pieces merge greedily by the score of the merged token, and characters missing from the vocabulary fall
 * back to byte tokens {@code <0xNN>}.
 */
final class SentencePieceTokenizer extends VocabularyTokenizer {
    private static final char SPACE = '\u2581';

    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(GgufFile gguf) {
        super(new Vocabulary(gguf, new Vocabulary.Defaults(1, 2, 0, -1, true, false, false, true),
                SentencePieceTokenizer::unescapedPiece));
        for (int b = 0; b < 256; b++) {
            int id = vocab.idOf(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                id = vocab.idOf(String.valueOf((char) b)); // llama.cpp's fallback: the byte as text
            }
            byteTokens[b] = id >= 0 ? id : vocab.unknown;
        }
    }

    /** A NORMAL token's output: its text with U+2581 turned back into spaces. */
    static byte[] unescapedPiece(String text) {
        return text.replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        if (addSpecial && vocab.addBos) {
            out.add(vocab.bos);
        }
        boolean previousSpecial = true; // the first fragment gets the space prefix too
        for (Vocabulary.Fragment fragment : vocab.splitSpecials(text, parseSpecial)) {
            switch (fragment) {
                case Vocabulary.Fragment.Special s -> {
                    out.add(s.id());
                    previousSpecial = true;
                }
                case Vocabulary.Fragment.Text t -> {
                    String raw = vocab.addSpacePrefix && previousSpecial ? " " + t.text() : t.text();
                    tokenize(raw.replace(' ', SPACE), out);
                    previousSpecial = false;
                }
            }
        }
        if (addSpecial && vocab.addEos) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    private record Bigram(int left, int right, float score, int length) {
    }

    /** llama.cpp's llm_tokenizer_spm_session: symbols are code points, linked in a list, merged by score. */
    private void tokenize(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        int count = text.codePointCount(0, text.length());
        int[] start = new int[count];
        int[] length = new int[count];
        int[] prev = new int[count];
        int[] next = new int[count];
        for (int i = 0, offset = 0; i < count; i++) {
            start[i] = offset;
            length[i] = Character.charCount(text.codePointAt(offset));
            offset += length[i];
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        // Highest score first; on ties, the leftmost pair.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        Map<String, int[]> reverseMerges = new HashMap<>();
        for (int i = 1; i < count; i++) {
            addBigram(text, start, length, i - 1, i, queue, reverseMerges);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left;
            int r = b.right;
            if (length[l] == 0 || length[r] == 0 || length[l] + length[r] != b.length) {
                continue; // one side was merged since this pair was queued
            }
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            addBigram(text, start, length, prev[l], l, queue, reverseMerges);
            addBigram(text, start, length, l, next[l], queue, reverseMerges);
        }
        for (int i = 0; i != -1; i = next[i]) {
            resegment(text, start, length, start[i], start[i] + length[i], reverseMerges, out);
        }
    }

    private void addBigram(String text, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue,
                           Map<String, int[]> reverseMerges) {
        if (left == -1 || right == -1) {
            return;
        }
        String merged = text.substring(start[left], start[left] + length[left] + length[right]);
        int id = vocab.idOf(merged);
        if (id < 0) {
            return;
        }
        queue.add(new Bigram(left, right, vocab.scores[id], merged.length()));
        reverseMerges.put(merged, new int[] {left, right});
    }

    private void resegment(String text, int[] start, int[] length, int from, int to, Map<String, int[]> reverseMerges,
                           IntList out) {
        String piece = text.substring(from, to);
        int id = vocab.idOf(piece);
        if (id >= 0) {
            out.add(id);
            return;
        }
        int[] parts = reverseMerges.get(piece);
        if (parts == null) {
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                out.add(byteTokens[b & 0xff]);
            }
            return;
        }
        // Never reached with a consistent vocabulary (every merge yields a token), kept as llama.cpp has it.
        resegment(text, start, length, start[parts[0]], start[parts[1]], reverseMerges, out);
        resegment(text, start, length, start[parts[1]], to, reverseMerges, out);
    }
}
