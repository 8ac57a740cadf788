package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A model's tokens as llama.cpp's {@code llama_vocab} sees them: texts, scores, attributes, special ids, the
 * end-of-generation set, the tokens matched literally in text and each token's output bytes. Shared by the
 * SentencePiece, byte-level BPE and WordPiece tokenizers, which differ only in how they split raw text.
 */
final class Vocabulary {
    // Token attributes (llama.cpp's llama_token_attr), a bit set per token.
    static final int UNKNOWN = 1;
    static final int UNUSED = 1 << 1;
    static final int NORMAL = 1 << 2;
    static final int CONTROL = 1 << 3;
    static final int USER_DEFINED = 1 << 4;
    static final int BYTE = 1 << 5;
    static final int LSTRIP = 1 << 7;
    static final int RSTRIP = 1 << 8;

    /** How the tokenizer kinds differ in defaults; the GGUF metadata overrides each of these. */
    record Defaults(int bos, int eos, int unknown, int separator, boolean addBos, boolean addEos, boolean addSep,
                    boolean addSpacePrefix) {
    }

    private static final List<String> END_OF_TURN_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
            "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    // The texts llama.cpp treats as ending generation whatever the metadata says (see llama-vocab.cpp).
    private static final List<String> END_OF_GENERATION_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>",
            "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
            "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
            "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final List<String> FIM_REPO_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
            "<reponame>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");

    final String[] tokens;
    final float[] scores;
    final int[] attributes;
    private final Map<String, Integer> ids;
    final int bos;
    final int eos;
    final int unknown;
    final int separator;
    final boolean addBos;
    final boolean addEos;
    final boolean addSep;
    final boolean addSpacePrefix;
    /** Longest token text in UTF-8 bytes. */
    final int maxTokenBytes;
    private final BitSet endOfGeneration = new BitSet();
    /** Control, user-defined and unknown tokens, longest text first: matched in text before tokenizing. */
    private final int[] literalSpecials;
    /** Distinct lengths (in chars, ascending) and first chars of the literal specials, to find them fast. */
    private final int[] specialLengths;
    private final BitSet specialFirstChars = new BitSet(65536);
    /** Each token's output with special tokens written out (llama.cpp's token_to_piece cache). */
    private final byte[][] pieces;

    /**
     * @param pieceOfNormal the output bytes of a NORMAL token's text (the tokenizer kinds escape spaces and
     *                      bytes differently)
     */
    Vocabulary(GgufFile gguf, Defaults defaults, Function<String, byte[]> pieceOfNormal) {
        if (!gguf.has("tokenizer.ggml.tokens")) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.tokens' is missing: the file has no vocabulary;"
                    + " convert the model with a llama.cpp converter that writes the tokenizer");
        }
        tokens = gguf.getStringArray("tokenizer.ggml.tokens").clone();
        int n = tokens.length;
        if (n == 0) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.tokens' is empty: the vocabulary has no tokens");
        }
        scores = readScores(gguf, n);
        int[] types = gguf.has("tokenizer.ggml.token_type") ? gguf.getIntArray("tokenizer.ggml.token_type") : null;
        if (types != null && types.length < n) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.token_type' has " + types.length
                    + " entries for " + n + " tokens");
        }
        attributes = new int[n];
        ids = new HashMap<>(n * 2);
        int longest = 0;
        for (int i = 0; i < n; i++) {
            if (tokens[i].isEmpty()) {
                tokens[i] = "[EMPTY_" + i + "]"; // as llama.cpp does, so that every id has a distinct text
            }
            ids.putIfAbsent(tokens[i], i);
            longest = Math.max(longest, utf8Length(tokens[i]));
            attributes[i] = types == null ? NORMAL : switch (types[i]) {
                case 1 -> NORMAL;
                case 2 -> UNKNOWN;
                case 3 -> CONTROL;
                case 4 -> USER_DEFINED;
                case 5 -> UNUSED;
                case 6 -> BYTE;
                default -> 0;
            };
        }
        maxTokenBytes = longest;

        int bosId = specialId(gguf, "tokenizer.ggml.bos_token_id", defaults.bos());
        if (!gguf.has("tokenizer.ggml.bos_token_id")) {
            bosId = specialId(gguf, "tokenizer.ggml.cls_token_id", bosId); // BERT files name it CLS
        }
        bos = bosId;
        eos = specialId(gguf, "tokenizer.ggml.eos_token_id", defaults.eos());
        unknown = specialId(gguf, "tokenizer.ggml.unknown_token_id", defaults.unknown());
        separator = specialId(gguf, "tokenizer.ggml.seperator_token_id", defaults.separator());
        int eot = specialId(gguf, "tokenizer.ggml.eot_token_id", -1);
        int eom = specialId(gguf, "tokenizer.ggml.eom_token_id", -1);
        int fimPad = specialId(gguf, "tokenizer.ggml.fim_pad_token_id", -1);
        int fimRepo = specialId(gguf, "tokenizer.ggml.fim_rep_token_id", -1);
        int fimSep = specialId(gguf, "tokenizer.ggml.fim_sep_token_id", -1);

        addBos = gguf.getBoolean("tokenizer.ggml.add_bos_token", defaults.addBos());
        addEos = gguf.getBoolean("tokenizer.ggml.add_eos_token", defaults.addEos());
        addSep = gguf.getBoolean("tokenizer.ggml.add_sep_token", defaults.addSep());
        addSpacePrefix = gguf.getBoolean("tokenizer.ggml.add_space_prefix", defaults.addSpacePrefix());
        requireIdWhenAdded(addBos, bos, "add_bos_token", "bos_token_id");
        requireIdWhenAdded(addEos, eos, "add_eos_token", "eos_token_id");
        requireIdWhenAdded(addSep, separator, "add_sep_token", "seperator_token_id");

        // Older conversions do not name the end-of-turn and fill-in-the-middle tokens; llama.cpp recognises
        // them by text and makes them control tokens, so that they are neither printed nor split.
        if (eot < 0) {
            eot = firstPresent(END_OF_TURN_TEXTS);
        }
        if (eom < 0) {
            eom = firstPresent(List.of("<|eom_id|>"));
        }
        if (fimPad < 0) {
            fimPad = firstPresent(FIM_PAD_TEXTS);
        }
        if (fimRepo < 0) {
            fimRepo = firstPresent(FIM_REPO_TEXTS);
        }
        if (fimSep < 0) {
            fimSep = firstPresent(FIM_SEP_TEXTS);
        }
        for (int id : new int[] {eot, eom, fimPad, fimRepo, fimSep}) {
            if (id >= 0) {
                attributes[id] |= CONTROL;
            }
        }
        for (int id : new int[] {fimPad, fimRepo, fimSep}) {
            if (id >= 0) {
                endOfGeneration.set(id);
            }
        }
        for (int i = 0; i < n; i++) {
            if ((attributes[i] & CONTROL) != 0 && tokens[i].contains("unused")) {
                attributes[i] |= UNUSED;
            }
        }
        for (String text : END_OF_GENERATION_TEXTS) {
            int id = idOf(text);
            if (id >= 0) {
                endOfGeneration.set(id);
                attributes[id] |= CONTROL;
            }
        }
        // gpt-oss: these structure the output and are always shown.
        for (String text : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
            int id = idOf(text);
            if (id >= 0) {
                attributes[id] = USER_DEFINED;
            }
        }
        for (int id : new int[] {eos, eot, eom}) {
            if (id >= 0) {
                endOfGeneration.set(id);
            }
        }
        // gpt-oss and solar-open end a message, not the generation, with <|end|>.
        int end = idOf("<|end|>");
        boolean hasCall = endOfGeneration(idOf("<|call|>")) || endOfGeneration(idOf("<|calls|>"));
        if (end >= 0 && endOfGeneration.get(end) && hasCall
                && (endOfGeneration(idOf("<|return|>")) || endOfGeneration(idOf("<|flush|>")))) {
            endOfGeneration.clear(end);
            attributes[end] = USER_DEFINED;
        }
        // Gemma 4 and PaddleOCR: </s> is ordinary text there.
        int closingS = idOf("</s>");
        if (closingS >= 0 && endOfGeneration.get(closingS) && endOfGeneration(idOf("<|tool_response>"))) {
            endOfGeneration.clear(closingS);
            attributes[closingS] = NORMAL;
        }

        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if ((attributes[i] & (CONTROL | USER_DEFINED | UNKNOWN)) != 0) {
                specials.add(i);
            }
        }
        specials.sort(Comparator.comparingInt((Integer i) -> utf8Length(tokens[i])).reversed()
                .thenComparingInt(i -> i));
        literalSpecials = specials.stream().mapToInt(Integer::intValue).toArray();
        specialLengths = specials.stream().mapToInt(i -> tokens[i].length()).distinct().sorted().toArray();
        for (int id : literalSpecials) {
            specialFirstChars.set(tokens[id].charAt(0));
        }

        pieces = new byte[n][];
        for (int i = 0; i < n; i++) {
            pieces[i] = piece(i, pieceOfNormal);
        }

        applyModelSpecificAttributes(gguf);
    }

    private static float[] readScores(GgufFile gguf, int n) {
        Object raw = gguf.get("tokenizer.ggml.scores");
        float[] scores = new float[n];
        if (raw == null) {
            return scores;
        }
        if (raw instanceof float[] f && f.length >= n) {
            System.arraycopy(f, 0, scores, 0, n);
        } else if (raw instanceof int[] i && i.length >= n) {
            for (int k = 0; k < n; k++) {
                scores[k] = i[k];
            }
        } else {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.scores' must be an array of at least " + n
                    + " float32 or int32 values (one per token), but it is " + describe(raw));
        }
        return scores;
    }

    private static String describe(Object value) {
        if (value instanceof float[] f) {
            return "float[" + f.length + "]";
        }
        if (value instanceof int[] i) {
            return "int[" + i.length + "]";
        }
        return value.getClass().getSimpleName();
    }

    private int specialId(GgufFile gguf, String key, int fallback) {
        int id = fallback >= tokens.length ? -1 : fallback;
        if (gguf.has(key)) {
            long value = gguf.getLong(key);
            if (value >= 0 && value < tokens.length) {
                id = (int) value;
            }
        }
        return id;
    }

    private static void requireIdWhenAdded(boolean added, int id, String addKey, String idKey) {
        if (added && id < 0) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml." + addKey + "' is true, but 'tokenizer.ggml."
                    + idKey + "' is not set or outside the vocabulary");
        }
    }

    private int firstPresent(List<String> texts) {
        // llama.cpp walks a hash map here, so which of several candidates wins is unspecified; we take the
        // lowest id, which is stable.
        int best = -1;
        for (String text : texts) {
            int id = idOf(text);
            if (id >= 0 && (best < 0 || id < best)) {
                best = id;
            }
        }
        return best;
    }

    private boolean endOfGeneration(int id) {
        return id >= 0 && endOfGeneration.get(id);
    }

    private byte[] piece(int id, Function<String, byte[]> pieceOfNormal) {
        int attr = attributes[id];
        if ((attr & (UNKNOWN | CONTROL | USER_DEFINED)) != 0) {
            return tokens[id].getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & NORMAL) != 0) {
            return pieceOfNormal.apply(tokens[id]);
        }
        if ((attr & BYTE) != 0) {
            String t = tokens[id];
            if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                return new byte[] {(byte) Integer.parseInt(t.substring(3, 5), 16)};
            }
            return t.getBytes(StandardCharsets.UTF_8);
        }
        return new byte[0]; // unused and undefined tokens print nothing
    }

    /** Per-token attributes llama.cpp sets by model name, since GGUF files do not carry them. */
    private void applyModelSpecificAttributes(GgufFile gguf) {
        String name = gguf.getString("general.name", "").toLowerCase(Locale.ROOT);
        String pre = gguf.getString("tokenizer.ggml.pre", "");
        String arch = gguf.getString("general.architecture", "");
        if (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code")
                || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3")) {
            setAttribute("<mask>", LSTRIP, true);
        } else if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : literalSpecials) {
                attributes[id] |= RSTRIP;
            }
            setAttribute("</s>", RSTRIP, true);
            for (String text : List.of("<unk>", "<s>", "<|endoftext|>")) {
                setAttribute(text, RSTRIP, false);
            }
        } else if (name.contains("modern-bert")) {
            setAttribute("[MASK]", LSTRIP, true);
        }
    }

    private void setAttribute(String text, int attribute, boolean value) {
        int id = idOf(text);
        if (id >= 0) {
            attributes[id] = value ? attributes[id] | attribute : attributes[id] & ~attribute;
        }
    }

    static int utf8Length(String s) {
        int bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    int size() {
        return tokens.length;
    }

    int idOf(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean has(int id, int attribute) {
        return (attributes[id] & attribute) != 0;
    }

    boolean isEndOfGeneration(int id) {
        return id >= 0 && id < tokens.length && endOfGeneration.get(id);
    }

    void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary of " + tokens.length
                    + " tokens");
        }
    }

    /** The bytes a token contributes to text; control and unknown tokens only when {@code renderSpecial}. */
    byte[] piece(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attributes[id] & (CONTROL | UNKNOWN)) != 0) {
            return new byte[0];
        }
        byte[] p = pieces[id];
        return p.length == 0 ? p : p.clone();
    }

    /** Read-only access for the hot paths (decoding); callers must not modify the array. */
    byte[] pieceView(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attributes[id] & (CONTROL | UNKNOWN)) != 0) {
            return EMPTY;
        }
        return pieces[id];
    }

    private static final byte[] EMPTY = new byte[0];

    /**
     * Text of a token sequence as llama.cpp's {@code llama_detokenize} (remove_special = false) makes it: the
     * pieces in order, and with a space prefix the first token loses one leading space (even when it is
     * BOS, which then prints nothing and the next token keeps its space). llama.cpp's optional clean-up of
     * spaces before punctuation is not applied, so that decoding gives back exactly the encoded text.
     */
    String decode(int[] ids, boolean renderSpecial) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            byte[] p = pieceView(ids[i], renderSpecial);
            int skip = i == 0 && addSpacePrefix && p.length > 0 && p[0] == ' ' ? 1 : 0;
            out.write(p, skip, p.length - skip);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Raw text and special tokens found in it, in order. */
    sealed interface Fragment permits Fragment.Text, Fragment.Special {
        record Text(String text) implements Fragment {
        }

        record Special(int id) implements Fragment {
        }
    }

    /**
     * Splits text at the special tokens written in it, like llama.cpp's {@code tokenizer_st_partition}:
     * user-defined tokens always, control and unknown ones only when {@code parseSpecial}; longer tokens
     * first, and tokens marked lstrip/rstrip swallow the spaces beside them.
     */
    List<Fragment> splitSpecials(String text, boolean parseSpecial) {
        // Each element: int[] {start, end} of raw text, or Integer id.
        List<Object> parts = new ArrayList<>();
        if (!text.isEmpty()) {
            parts.add(new int[] {0, text.length()});
        }
        BitSet present = parts.isEmpty() ? new BitSet() : specialsIn(text);
        for (int id : literalSpecials) {
            int attr = attributes[id];
            if (!present.get(id)) {
                continue;
            }
            if (!parseSpecial && (attr & (CONTROL | UNKNOWN)) != 0) {
                continue;
            }
            String special = tokens[id];
            List<Object> next = null;
            for (int p = 0; p < parts.size(); p++) {
                Object part = parts.get(p);
                int at = part instanceof int[] range ? indexOf(text, special, range[0], range[1]) : -1;
                if (at < 0) {
                    if (next != null) {
                        next.add(part);
                    }
                    continue;
                }
                if (next == null) {
                    next = new ArrayList<>(parts.subList(0, p));
                }
                int[] range = (int[]) part;
                int from = range[0];
                while (at >= 0) {
                    int leftEnd = at;
                    if ((attr & LSTRIP) != 0) {
                        while (leftEnd > from && isCSpace(text.charAt(leftEnd - 1))) {
                            leftEnd--;
                        }
                    }
                    if (leftEnd > from) {
                        next.add(new int[] {from, leftEnd});
                    }
                    next.add(id);
                    from = at + special.length();
                    if ((attr & RSTRIP) != 0) {
                        while (from < range[1] && isCSpace(text.charAt(from))) {
                            from++;
                        }
                    }
                    at = indexOf(text, special, from, range[1]);
                }
                if (from < range[1]) {
                    next.add(new int[] {from, range[1]});
                }
            }
            if (next != null) {
                parts = next;
            }
        }
        List<Fragment> fragments = new ArrayList<>(parts.size());
        for (Object part : parts) {
            fragments.add(part instanceof int[] r ? new Fragment.Text(text.substring(r[0], r[1]))
                    : new Fragment.Special((Integer) part));
        }
        return fragments;
    }

    /** First occurrence of {@code special} inside text[from, end), or -1; never looks past {@code end}. */
    private static int indexOf(String text, String special, int from, int end) {
        char first = special.charAt(0);
        for (int i = from, last = end - special.length(); i <= last; i++) {
            if (text.charAt(i) == first && text.startsWith(special, i)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The special tokens that occur anywhere in the text, so that the partition below only searches for
     * those: a model can have thousands of reserved special tokens, of which a prompt uses a handful.
     */
    private BitSet specialsIn(String text) {
        BitSet present = new BitSet(tokens.length);
        for (int i = 0; i < text.length(); i++) {
            if (!specialFirstChars.get(text.charAt(i))) {
                continue;
            }
            for (int length : specialLengths) {
                if (i + length > text.length()) {
                    break;
                }
                Integer id = ids.get(text.substring(i, i + length));
                if (id != null) {
                    present.set(id);
                }
            }
        }
        return present;
    }

    /** C's isspace in the "C" locale, which llama.cpp uses for lstrip/rstrip. */
    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    @Override
    public String toString() {
        return "Vocabulary[" + tokens.length + " tokens, bos=" + bos + ", eos=" + eos + ", eog="
                + Arrays.toString(endOfGeneration.stream().toArray()) + "]";
    }
}
