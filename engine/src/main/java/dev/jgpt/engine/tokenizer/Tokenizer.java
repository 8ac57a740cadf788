package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

/**
 * Text to token ids and back, built from a GGUF file's tokenizer metadata the way llama.cpp builds it:
 * {@code llama} (SentencePiece) and {@code gpt2} (byte-level BPE) vocabularies.
 */
public sealed interface Tokenizer permits SentencePieceTokenizer, BytePairTokenizer {

    /** The tokenizer a GGUF file describes; IllegalArgumentException naming the problem when it cannot. */
    static Tokenizer fromGguf(GgufFile gguf) {
        String model = gguf.getString("tokenizer.ggml.model", null);
        if (model == null) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.model' is missing: the file has no tokenizer");
        }
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(gguf);
            case "gpt2" -> new BytePairTokenizer(gguf);
            default -> throw new IllegalArgumentException("tokenizer model '" + model
                    + "' is not supported (jgpt reads 'llama' and 'gpt2' vocabularies)");
        };
    }

    /**
     * Token ids of {@code text}.
     *
     * @param addSpecial   add BOS (and EOS) as the model's metadata asks
     * @param parseSpecial turn control tokens written in the text (e.g. {@code <|im_start|>}) into their ids
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** The text of the ids; control tokens (BOS, end of turn, ...) are left out. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /** The text of the ids, with control tokens written out when {@code renderSpecial}. */
    String decode(int[] ids, boolean renderSpecial);

    /** The bytes one token contributes to generated text (empty for control tokens). */
    byte[] tokenBytes(int id);

    int vocabSize();

    /** Beginning-of-sequence id, or -1. */
    int bos();

    /** End-of-sequence id, or -1. */
    int eos();

    /** Whether generation ends at this token (end of sequence, end of turn, ...). */
    boolean isEndOfGeneration(int id);

    /** The token's text as stored in the vocabulary. */
    String tokenText(int id);

    /** The id of a token with exactly this text, or -1. */
    int tokenId(String text);
}
