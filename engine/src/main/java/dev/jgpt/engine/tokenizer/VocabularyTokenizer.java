package dev.jgpt.engine.tokenizer;

/** What the three tokenizer kinds share: everything but turning raw text into ids. */
abstract sealed class VocabularyTokenizer implements Tokenizer
        permits SentencePieceTokenizer, BytePairTokenizer, WordPieceTokenizer {
    final Vocabulary vocab;

    VocabularyTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
    }

    @Override
    public String decode(int[] ids, boolean renderSpecial) {
        return vocab.decode(ids, renderSpecial);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return vocab.piece(id, false);
    }

    @Override
    public byte[] tokenBytes(int id, boolean renderSpecial) {
        return vocab.piece(id, renderSpecial);
    }

    @Override
    public boolean addsSpacePrefix() {
        return vocab.addSpacePrefix;
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
        return vocab.isEndOfGeneration(id);
    }

    @Override
    public String tokenText(int id) {
        vocab.checkId(id);
        return vocab.tokens[id];
    }

    @Override
    public int tokenId(String text) {
        return vocab.idOf(text);
    }
}
