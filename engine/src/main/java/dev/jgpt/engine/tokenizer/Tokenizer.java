package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.gguf.GgufFile;

/**
 * Text to token ids and back, built from a GGUF file's tokenizer metadata the way llama.cpp builds it:
 * {@code llama} (SentencePiece), {@code gpt2} (byte-level BPE) and {@code bert} (WordPiece) vocabularies.
 * Instances are immutable and safe to share between threads.
 */
public sealed interface Tokenizer permits VocabularyTokenizer {

    /** The tokenizer a GGUF file describes; IllegalArgumentException naming the problem when it cannot. */
    static Tokenizer fromGguf(GgufFile gguf) {
        String model = gguf.getString("tokenizer.ggml.model", null);
        if (model == null) {
            throw new IllegalArgumentException("metadata 'tokenizer.ggml.model' is missing: the file has no tokenizer;"
                    + " convert the model with a llama.cpp converter that writes the vocabulary");
        }
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(gguf);
            case "gpt2" -> new BytePairTokenizer(gguf);
            case "bert" -> new WordPieceTokenizer(gguf);
            default -> throw new IllegalArgumentException("tokenizer model '" + model + "' (metadata"
                    + " 'tokenizer.ggml.model') is not supported; jgpt reads 'llama' (SentencePiece), 'gpt2'"
                    + " (byte-level BPE) and 'bert' (WordPiece) vocabularies");
        };
    }

    /**
     * Token ids of {@code text}.
     *
     * @param addSpecial   add BOS (and EOS, or for WordPiece CLS and SEP) as the model's metadata asks
     * @param parseSpecial turn control tokens written in the text (e.g. {@code <|im_start|>}, {@code <s>})
     *                     into their ids; user-defined tokens are always recognised, as in llama.cpp
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** The text of the ids; control tokens (BOS, end of turn, ...) are left out. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of the ids, like llama.cpp's {@code llama_detokenize}: with {@code renderSpecial} control
     * tokens are written out, otherwise left out. For SentencePiece vocabularies the first id loses the
     * leading space the encoder added.
     */
    String decode(int[] ids, boolean renderSpecial);

    /** The bytes one token contributes to generated text (empty for control tokens); a fresh array. */
    byte[] tokenBytes(int id);

    /** Like {@link #tokenBytes(int)}, with control tokens written out when {@code renderSpecial}. */
    byte[] tokenBytes(int id, boolean renderSpecial);

    /** Whether the encoder puts a space before text (SentencePiece), which decoding then removes again. */
    boolean addsSpacePrefix();

    int vocabSize();

    /** Beginning-of-sequence id (CLS for WordPiece), or -1. */
    int bos();

    /** End-of-sequence id, or -1. */
    int eos();

    /** Whether generation ends at this token: end of sequence, end of turn, end of message, ... */
    boolean isEndOfGeneration(int id);

    /** The token's text as stored in the vocabulary. */
    String tokenText(int id);

    /** The id of a token with exactly this text, or -1. */
    int tokenId(String text);
}
