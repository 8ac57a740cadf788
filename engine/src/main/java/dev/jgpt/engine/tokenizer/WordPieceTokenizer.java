package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * WordPiece ({@code tokenizer.ggml.model = bert}) as llama.cpp implements it: text is lowercased and
 * stripped of accents (BERT's uncased normalizer, unless the metadata says otherwise), split at whitespace
 * and around punctuation and CJK characters, and each word is cut into the longest vocabulary pieces from
 * the left. llama.cpp's GGUF conversion writes word-initial pieces with a leading U+2581 and continuation
 * pieces without BERT's {@code ##}, so a word is matched as U+2581 followed by the word.
 *
 * <p>With {@code addSpecial} the ids are framed by CLS (reported as {@link #bos()}) and SEP.
 */
final class WordPieceTokenizer extends VocabularyTokenizer {
    private static final String WORD_START = "\u2581";

    private final boolean lowercase;
    private final boolean stripAccents;

    WordPieceTokenizer(GgufFile gguf) {
        super(new Vocabulary(gguf, new Vocabulary.Defaults(101, -1, 100, 102, true, false, true, false),
                SentencePieceTokenizer::unescapedPiece));
        lowercase = gguf.getBoolean("tokenizer.ggml.normalizer.lowercase", true);
        // As in Hugging Face's BertNormalizer, accents are stripped when lowercasing unless said otherwise.
        stripAccents = gguf.getBoolean("tokenizer.ggml.normalizer.strip_accents", lowercase);
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        // llama.cpp frames WordPiece input with CLS and SEP whenever special tokens are asked for.
        if (addSpecial) {
            if (vocab.bos < 0) {
                throw new IllegalStateException("this WordPiece vocabulary has no CLS token to start the input with");
            }
            out.add(vocab.bos);
        }
        for (Vocabulary.Fragment fragment : vocab.splitSpecials(text, parseSpecial)) {
            switch (fragment) {
                case Vocabulary.Fragment.Special s -> out.add(s.id());
                case Vocabulary.Fragment.Text t -> {
                    for (String word : words(t.text())) {
                        encodeWord(word, out);
                    }
                }
            }
        }
        if (addSpecial) {
            if (vocab.separator < 0) {
                throw new IllegalStateException("this WordPiece vocabulary has no SEP token to end the input with");
            }
            out.add(vocab.separator);
        }
        return out.toArray();
    }

    /** Greedy longest match from the left; a word with an unmatchable part becomes the unknown token. */
    private void encodeWord(String word, IntList out) {
        String w = WORD_START + word;
        int n = w.length();
        int mark = out.size();
        boolean matchedAll = true;
        for (int i = 0; i < n; ) {
            // The farthest end whose piece still fits in the longest token.
            int limit = i;
            int bytes = 0;
            while (limit < n) {
                int cp = w.codePointAt(limit);
                int width = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                if (bytes + width > vocab.maxTokenBytes) {
                    break;
                }
                bytes += width;
                limit += Character.charCount(cp);
            }
            int matchedEnd = -1;
            for (int j = limit; j > i; j--) {
                if (j < n && Character.isLowSurrogate(w.charAt(j)) && Character.isHighSurrogate(w.charAt(j - 1))) {
                    continue; // never split a surrogate pair
                }
                int id = vocab.idOf(w.substring(i, j));
                if (id >= 0) {
                    out.add(id);
                    matchedEnd = j;
                    break;
                }
            }
            if (matchedEnd < 0) {
                matchedAll = false;
                break;
            }
            i = matchedEnd;
        }
        if (!matchedAll) {
            out.truncate(mark);
        }
        if (out.size() == mark) {
            out.add(vocab.unknown);
        }
    }

    /** llama.cpp's WordPiece pre-processing: normalize, then split at whitespace and around punctuation. */
    private List<String> words(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (stripAccents) {
                cp = firstOfDecomposition(cp);
            }
            if (PreTokenizer.isUnicodeWhitespace(cp)) {
                finish(word, words);
                continue;
            }
            int type = Character.getType(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(type)) {
                continue;
            }
            if (stripAccents && isMark(type)) {
                continue;
            }
            int c = lowercase ? Character.toLowerCase(cp) : cp;
            if (isPunctuation(type) || (cp < 0x7F && isSymbol(type)) || isChinese(cp)) {
                finish(word, words);
                words.add(new String(Character.toChars(c)));
            } else {
                word.appendCodePoint(c);
            }
        }
        finish(word, words);
        return words;
    }

    private static void finish(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    /**
     * llama.cpp's NFD table keeps only the first code point of each decomposition (é becomes e, the
     * combining accent is dropped), which is what accent stripping needs.
     */
    private static int firstOfDecomposition(int cp) {
        if (cp < 0xC0) {
            return cp; // nothing below À decomposes
        }
        String s = new String(Character.toChars(cp));
        String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
        return nfd.codePointAt(0);
    }

    private static boolean isControl(int type) {
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.PRIVATE_USE
                || type == Character.SURROGATE;
    }

    private static boolean isMark(int type) {
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK;
    }

    private static boolean isPunctuation(int type) {
        return switch (type) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    private static boolean isSymbol(int type) {
        return type == Character.MATH_SYMBOL || type == Character.CURRENCY_SYMBOL
                || type == Character.MODIFIER_SYMBOL || type == Character.OTHER_SYMBOL;
    }

    /** BERT's CJK ranges, including the 0x2B920 start Hugging Face's Rust code uses (not 0x2B820). */
    private static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
