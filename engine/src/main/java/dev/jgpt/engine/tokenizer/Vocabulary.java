package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's tokens from GGUF metadata: their texts, scores and types, the special ids, and the tokens
 * that may appear literally in text (control and user-defined tokens), longest first.
 */
final class Vocabulary {
    // GGUF token types (tokenizer.ggml.token_type).
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    final String[] tokens;
    final float[] scores;
    final int[] types;
    final Map<String, Integer> ids;
    final int bos;
    final int eos;
    final int unknown;
    final boolean addBos;
    final boolean addEos;
    final Set<Integer> endOfGeneration;
    /** Tokens matched in text before tokenizing, longest first; control ones only when parsing specials. */
    final List<Integer> literalSpecials;

    Vocabulary(GgufFile gguf, boolean defaultAddBos) {
        if (!gguf.has("tokenizer.ggml.tokens")) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.tokens' is missing: the file has no vocabulary");
        }
        tokens = gguf.getStringArray("tokenizer.ggml.tokens");
        int n = tokens.length;
        scores = gguf.has("tokenizer.ggml.scores") ? gguf.getFloatArray("tokenizer.ggml.scores") : new float[n];
        int[] t = gguf.has("tokenizer.ggml.token_type") ? gguf.getIntArray("tokenizer.ggml.token_type") : null;
        if (t == null) {
            t = new int[n];
            java.util.Arrays.fill(t, NORMAL);
        }
        if (scores.length != n || t.length != n) {
            throw new IllegalArgumentException("the vocabulary's scores (" + scores.length + ") or token types ("
                    + t.length + ") do not match its " + n + " tokens");
        }
        types = t;
        ids = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            ids.putIfAbsent(tokens[i], i);
        }
        bos = id(gguf, "tokenizer.ggml.bos_token_id");
        eos = id(gguf, "tokenizer.ggml.eos_token_id");
        unknown = id(gguf, "tokenizer.ggml.unknown_token_id");
        addBos = gguf.getBoolean("tokenizer.ggml.add_bos_token", defaultAddBos) && bos >= 0;
        addEos = gguf.getBoolean("tokenizer.ggml.add_eos_token", false) && eos >= 0;

        endOfGeneration = new HashSet<>();
        for (String key : List.of("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                "tokenizer.ggml.eom_token_id")) {
            int id = id(gguf, key);
            if (id >= 0) {
                endOfGeneration.add(id);
            }
        }
        // Like llama.cpp, also treat the usual end-of-turn control tokens as ends of generation.
        for (String text : List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                "<|eom_id|>", "<EOT>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>")) {
            Integer id = ids.get(text);
            if (id != null && (types[id] == CONTROL || types[id] == USER_DEFINED)) {
                endOfGeneration.add(id);
            }
        }

        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if ((types[i] == CONTROL || types[i] == USER_DEFINED || types[i] == UNKNOWN) && !tokens[i].isEmpty()) {
                specials.add(i);
            }
        }
        specials.sort(Comparator.comparingInt((Integer i) -> tokens[i].length()).reversed()
                .thenComparing(i -> i));
        literalSpecials = List.copyOf(specials);
    }

    private int id(GgufFile gguf, String key) {
        if (!gguf.has(key)) {
            return -1;
        }
        long id = gguf.getLong(key);
        if (id < 0 || id >= tokens.length) {
            return -1;
        }
        return (int) id;
    }

    int size() {
        return tokens.length;
    }

    int idOf(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean isControl(int id) {
        return types[id] == CONTROL;
    }

    /**
     * Splits text into raw-text fragments and special tokens written literally in it. Each element is a
     * String (raw text) or an Integer (token id).
     */
    List<Object> splitSpecials(String text, boolean parseSpecial) {
        List<Object> out = new ArrayList<>();
        out.add(text);
        for (int id : literalSpecials) {
            if (!parseSpecial && (types[id] == CONTROL || types[id] == UNKNOWN)) {
                continue;
            }
            String special = tokens[id];
            List<Object> next = new ArrayList<>();
            for (Object frag : out) {
                if (!(frag instanceof String s) || !s.contains(special)) {
                    next.add(frag);
                    continue;
                }
                int from = 0;
                int at;
                while ((at = s.indexOf(special, from)) >= 0) {
                    if (at > from) {
                        next.add(s.substring(from, at));
                    }
                    next.add(id);
                    from = at + special.length();
                }
                if (from < s.length()) {
                    next.add(s.substring(from));
                }
            }
            out = next;
        }
        return out;
    }
}
