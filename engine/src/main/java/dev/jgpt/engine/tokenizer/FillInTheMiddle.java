package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.util.List;
import java.util.Optional;

/**
 * Fill-in-the-middle prompts for code models trained with prefix, suffix and middle tokens: the model
 * writes what goes between a prefix and a suffix. The tokens come from the GGUF metadata or, for older
 * conversions, from their well-known texts, as llama.cpp finds them; the prompt has llama.cpp's
 * prefix-suffix-middle order: {@code [BOS] <PRE> prefix <SUF> suffix <MID>}.
 */
public record FillInTheMiddle(Tokenizer tokenizer, int prefixToken, int suffixToken, int middleToken) {
    private static final List<String> PREFIX_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>");
    private static final List<String> SUFFIX_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>");
    private static final List<String> MIDDLE_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>");

    /** The model's fill-in-the-middle tokens, or empty when it lacks any of the three. */
    public static Optional<FillInTheMiddle> of(GgufFile gguf, Tokenizer tokenizer) {
        int pre = find(gguf, tokenizer, List.of("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
                PREFIX_TEXTS);
        int suf = find(gguf, tokenizer, List.of("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
                SUFFIX_TEXTS);
        int mid = find(gguf, tokenizer, List.of("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"),
                MIDDLE_TEXTS);
        if (pre < 0 || suf < 0 || mid < 0) {
            return Optional.empty();
        }
        return Optional.of(new FillInTheMiddle(tokenizer, pre, suf, mid));
    }

    /** The tokens that ask the model for the text between {@code prefix} and {@code suffix}. */
    public int[] prompt(String prefix, String suffix) {
        int[] start = tokenizer.encode("", true, false);
        boolean bos = start.length > 0 && start[0] == tokenizer.bos();
        int[] pre = tokenizer.encode(prefix, false, false);
        int[] suf = tokenizer.encode(suffix, false, false);
        IntList out = new IntList();
        if (bos) {
            out.add(tokenizer.bos());
        }
        out.add(prefixToken);
        for (int t : pre) {
            out.add(t);
        }
        out.add(suffixToken);
        for (int t : suf) {
            out.add(t);
        }
        out.add(middleToken);
        return out.toArray();
    }

    private static int find(GgufFile gguf, Tokenizer tokenizer, List<String> keys, List<String> texts) {
        for (String key : keys) {
            long id = gguf.getLong(key, -1);
            if (id >= 0 && id < tokenizer.vocabSize()) {
                return (int) id;
            }
        }
        for (String text : texts) {
            int id = tokenizer.tokenId(text);
            if (id >= 0) {
                return id;
            }
        }
        return -1;
    }
}
