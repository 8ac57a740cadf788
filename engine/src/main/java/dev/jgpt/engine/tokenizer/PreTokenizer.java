package dev.jgpt.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, with the regular expressions llama.cpp uses for each
 * {@code tokenizer.ggml.pre} name. The expressions apply in turn, each splitting the pieces of the previous
 * one; text between matches stays a piece of its own, as in llama.cpp's {@code unicode_regex_split}.
 *
 * <p>llama.cpp runs these expressions with C++ {@code std::regex}, whose {@code \s} only knows ASCII
 * whitespace, after replacing every other whitespace character by U+000B. Matching here does the same
 * (on a copy of the text used only for matching), so that, e.g., U+3000 is whitespace for {@code \s} and
 * nothing else, exactly as there.
 *
 * @param ignoreMerges  a word that is itself a token is taken whole, without merging (Llama 3 style)
 * @param addBos        whether BOS is added by default (the GGUF key {@code add_bos_token} overrides it)
 * @param hasBos        false for vocabularies whose default BOS llama.cpp disables (ChatGLM)
 */
record PreTokenizer(String name, List<Pattern> patterns, boolean ignoreMerges, boolean addBos, boolean hasBos,
                    boolean addSep) {

    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String LLAMA3 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN35 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
            + "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT4O = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
            + CONTRACTIONS + "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" + CONTRACTIONS
            + "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String SEED_CODER = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String BAILING = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    private static final String DEEPSEEK_LETTERS = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-Ֆ"
            + "Ⴀ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕ"
            + "ℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲"
            + "𑢠-𑣟𞤀-𞥃]+";
    private static final String DEEPSEEK3_MAIN = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
            + "|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String PORO = " ?[^(\\s|.,!?…。，、।۔،)]+";

    /** The pre-tokenizer llama.cpp uses for this {@code tokenizer.ggml.pre} name (null or empty: default). */
    static PreTokenizer forName(String pre) {
        String name = pre == null || pre.isEmpty() ? "default" : pre;
        return switch (name) {
            case "default" -> plain(name, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                 "jina-v5-nano" -> new PreTokenizer(name, compile(LLAMA3), true, true, true, false);
            case "dbrx", "smaug-bpe" -> plain(name, LLAMA3);
            case "glm4", "chatglm-bpe" -> new PreTokenizer(name, compile(LLAMA3), false, false, false, false);
            case "tekken" -> new PreTokenizer(name, compile(TEKKEN), true, true, true, false);
            case "deepseek-llm" -> plain(name, "[\r\n]", DEEPSEEK_LETTERS, "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
                    "\\s+\\z", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+");
            case "deepseek-coder" -> plain(name, "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+",
                    "\\p{N}");
            case "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4" -> plain(name, "\\p{N}{1,3}",
                    "[一-龥぀-ゟ゠-ヿ]+", DEEPSEEK3_MAIN);
            case "falcon" -> plain(name, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2" ->
                    plain(name, "\\p{N}", GPT2);
            case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
                 "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling" ->
                    plain(name, GPT2);
            case "jina-v1-en", "jina-v2-code", "roberta-bpe" ->
                    new PreTokenizer(name, compile(GPT2), false, false, true, true);
            case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open",
                 "grok-2" -> plain(name, QWEN2);
            case "qwen35" -> plain(name, QWEN35);
            case "poro-chat", "bloom", "gpt3-finnish" -> plain(name, PORO);
            case "viking" -> plain(name, PORO, "\\p{N}");
            case "chameleon" -> new PreTokenizer(name, compile("<sentinel:[0-9]+>",
                    "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                    "[\\p{P}!-/:-@\\[-`{-~]", GPT2), false, true, true, false);
            case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2" -> plain(name, GPT4O);
            case "seed-coder" -> plain(name, SEED_CODER);
            case "bailingmoe", "bailingmoe2", "llada-moe" -> plain(name, BAILING);
            case "superbpe" -> plain(name, "\\p{N}+", "(?=(\\d{3})+(?!\\d))");
            default -> throw new IllegalArgumentException("pre-tokenizer '" + name + "' (metadata"
                    + " 'tokenizer.ggml.pre') is not supported; jgpt knows llama.cpp's common ones such as"
                    + " 'llama-bpe', 'qwen2', 'gpt-2', 'deepseek-llm', 'starcoder', 'smollm' and 'default'");
        };
    }

    private static PreTokenizer plain(String name, String... regexes) {
        return new PreTokenizer(name, compile(regexes), false, false, true, false);
    }

    private static List<Pattern> compile(String... regexes) {
        List<Pattern> list = new ArrayList<>(regexes.length);
        for (String r : regexes) {
            list.add(Pattern.compile(r));
        }
        return List.copyOf(list);
    }

    /** The words of {@code text}, in order; concatenated they give the text back. */
    List<String> split(String text) {
        String view = asciiWhitespaceView(text);
        // Piece boundaries as offsets into text: piece k is [bounds[k], bounds[k+1]).
        IntList bounds = new IntList();
        bounds.add(0);
        bounds.add(text.length());
        for (Pattern p : patterns) {
            IntList next = new IntList();
            next.add(0);
            Matcher m = p.matcher(view);
            for (int k = 0; k + 1 < bounds.size(); k++) {
                int start = bounds.get(k);
                int end = bounds.get(k + 1);
                // A region with opaque, anchoring bounds: the piece is all the expression sees, as in llama.cpp.
                m.region(start, end);
                int last = start;
                while (m.find()) {
                    // An empty match (a lookahead such as superbpe's digit grouping) still marks a boundary.
                    if (m.start() > last) {
                        next.add(m.start());
                    }
                    if (m.end() > m.start()) {
                        next.add(m.end());
                    }
                    last = m.end();
                }
                if (last < end) {
                    next.add(end);
                }
            }
            bounds = next;
        }
        List<String> words = new ArrayList<>(bounds.size());
        for (int k = 0; k + 1 < bounds.size(); k++) {
            words.add(text.substring(bounds.get(k), bounds.get(k + 1)));
        }
        return words;
    }

    /** The text with every non-ASCII whitespace character replaced by U+000B (see the class comment). */
    private static String asciiWhitespaceView(String text) {
        char[] chars = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c > 0x7f && isUnicodeWhitespace(c)) {
                if (chars == null) {
                    chars = text.toCharArray();
                }
                chars[i] = '\u000B';
            }
        }
        return chars == null ? text : new String(chars);
    }

    /** Unicode's White_Space property, which is llama.cpp's whitespace table. */
    static boolean isUnicodeWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }
}
