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
public final class BytePairTokenizer implements Tokenizer {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final Vocabulary vocab;
    private final PreTokenizer preTokenizer;
    private final Map<String, Integer> mergeRanks;

    BytePairTokenizer(GgufFile gguf) {
        preTokenizer = PreTokenizer.forName(gguf.getString("tokenizer.ggml.pre", "default"));
        // llama.cpp adds BOS by default for Llama 3 style vocabularies when the metadata does not say.
        vocab = new Vocabulary(gguf, preTokenizer.ignoreMerges);
        if (!gguf.has("tokenizer.ggml.merges")) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.merges' is missing: a BPE vocabulary needs its merges");
        }
        String[] merges = gguf.getStringArray("tokenizer.ggml.merges");
        mergeRanks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            mergeRanks.putIfAbsent(merges[i], i);
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        if (addSpecial && vocab.addBos) {
            out.add(vocab.bos);
        }
        StringBuilder mapped = new StringBuilder();
        for (Object fragment : vocab.splitSpecials(text, parseSpecial)) {
            if (fragment instanceof Integer id) {
                out.add(id);
                continue;
            }
            for (String word : preTokenizer.split((String) fragment)) {
                mapped.setLength(0);
                for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
                    mapped.append(BYTE_TO_CHAR[b & 0xff]);
                }
                encodeWord(mapped.toString(), out);
            }
        }
        if (addSpecial && vocab.addEos) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    private record Bigram(int left, int right, int rank, String text) {
    }

    private void encodeWord(String word, IntList out) {
        if (preTokenizer.ignoreMerges) {
            int whole = vocab.idOf(word);
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        int n = word.length(); // mapped characters are all in the BMP
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
            String piece = word.substring(start[i], start[i] + length[i]);
            int id = vocab.idOf(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (int c = 0; c < piece.length(); c++) {
                    int single = vocab.idOf(piece.substring(c, c + 1));
                    if (single >= 0) {
                        out.add(single);
                    }
                }
            }
        }
    }

    private void addBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
        if (left == -1 || right == -1) {
            return;
        }
        String l = word.substring(start[left], start[left] + length[left]);
        String r = word.substring(start[right], start[right] + length[right]);
        Integer rank = mergeRanks.get(l + " " + r);
        if (rank != null) {
            queue.add(new Bigram(left, right, rank, l + r));
        }
    }

    @Override
    public String decode(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (renderSpecial && vocab.isControl(id)) {
                bytes.writeBytes(vocab.tokens[id].getBytes(StandardCharsets.UTF_8));
            } else {
                bytes.writeBytes(tokenBytes(id));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] tokenBytes(int id) {
        int type = vocab.types[id];
        if (type == Vocabulary.CONTROL || type == Vocabulary.UNUSED) {
            return new byte[0];
        }
        String text = vocab.tokens[id];
        if (type == Vocabulary.USER_DEFINED) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            Integer b = CHAR_TO_BYTE.get(text.charAt(i));
            if (b != null) {
                out.write(b);
            } else {
                out.writeBytes(String.valueOf(text.charAt(i)).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
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
}
