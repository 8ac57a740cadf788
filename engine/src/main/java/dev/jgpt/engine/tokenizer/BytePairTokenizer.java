package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}), as in GPT-2, Llama 3 and Qwen: text is split by the
 * model's pre-tokenizer, each word's UTF-8 bytes are written as printable characters (GPT-2's byte map),
 * then adjacent pieces are merged in the order of {@code tokenizer.ggml.merges}.
 */
final class BytePairTokenizer extends VocabularyTokenizer {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private final PreTokenizer preTokenizer;
    /** Rank of each merge, keyed by its line in the metadata: "left right". */
    private final Map<String, Integer> mergeRanks;

    BytePairTokenizer(GgufFile gguf) {
        this(gguf, PreTokenizer.forName(gguf.getString("tokenizer.ggml.pre", "default")));
    }

    private BytePairTokenizer(GgufFile gguf, PreTokenizer pre) {
        super(new Vocabulary(gguf, new Vocabulary.Defaults(pre.hasBos() ? 11 : -1, 11, -1, -1, pre.addBos(), false,
                pre.addSep(), false), BytePairTokenizer::byteDecodedPiece));
        this.preTokenizer = pre;
        if (!gguf.has("tokenizer.ggml.merges")) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.merges' is missing: a byte-level BPE"
                    + " vocabulary ('gpt2') needs its merges; reconvert the model with llama.cpp's converter");
        }
        String[] merges = gguf.getStringArray("tokenizer.ggml.merges");
        mergeRanks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            mergeRanks.putIfAbsent(merges[i], i);
        }
    }

    /** A NORMAL token's output: GPT-2's printable characters turned back into the bytes they stand for. */
    static byte[] byteDecodedPiece(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                // Not from the byte map (a malformed vocabulary): keep the character itself.
                int cp = Character.codePointAt(text, i);
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(cp) - 1;
            }
        }
        return out.toByteArray();
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        if (addSpecial && vocab.addBos) {
            out.add(vocab.bos);
        }
        StringBuilder mapped = new StringBuilder();
        for (Vocabulary.Fragment fragment : vocab.splitSpecials(text, parseSpecial)) {
            switch (fragment) {
                case Vocabulary.Fragment.Special s -> out.add(s.id());
                case Vocabulary.Fragment.Text t -> {
                    for (String word : preTokenizer.split(t.text())) {
                        mapped.setLength(0);
                        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
                            mapped.append(BYTE_TO_CHAR[b & 0xff]);
                        }
                        encodeWord(mapped.toString(), out);
                    }
                }
            }
        }
        if (addSpecial && vocab.addEos) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    private record Bigram(int left, int right, int rank, String text) {
    }

    /** llama.cpp's llm_tokenizer_bpe_session for one word: merge the lowest-ranked adjacent pair first. */
    private void encodeWord(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (preTokenizer.ignoreMerges()) {
            int whole = vocab.idOf(word);
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        int n = word.length(); // mapped characters are all single chars
        if (n == 1) {
            emit(word, out);
            return;
        }
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            start[i] = i;
            length[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.rank != b.rank
                ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            addBigram(word, start, length, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left;
            int r = b.right;
            if (length[l] == 0 || length[r] == 0 || length[l] + length[r] != b.text.length()
                    || !word.startsWith(b.text, start[l])) {
                continue; // outdated: one side changed since this pair was queued
            }
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            addBigram(word, start, length, prev[l], l, queue);
            addBigram(word, start, length, l, next[l], queue);
        }
        for (int i = 0; i != -1; i = next[i]) {
            emit(word.substring(start[i], start[i] + length[i]), out);
        }
    }

    private void emit(String piece, IntList out) {
        int id = vocab.idOf(piece);
        if (id >= 0) {
            out.add(id);
            return;
        }
        // As llama.cpp: try each byte of the piece's UTF-8 as a one-byte token; only ASCII can match.
        for (int c = 0; c < piece.length(); c++) {
            if (piece.charAt(c) < 0x80) {
                int single = vocab.idOf(piece.substring(c, c + 1));
                if (single >= 0) {
                    out.add(single);
                }
            }
        }
    }

    private void addBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
        if (left == -1 || right == -1) {
            return;
        }
        int from = start[left];
        int mid = from + length[left];
        int to = mid + length[right];
        Integer rank = mergeRanks.get(new StringBuilder(to - from + 1).append(word, from, mid).append(' ')
                .append(word, mid, to).toString());
        if (rank != null) {
            queue.add(new Bigram(left, right, rank, word.substring(from, to)));
        }
    }
}
