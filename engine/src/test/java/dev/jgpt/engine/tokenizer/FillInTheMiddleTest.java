package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufWriter;
import dev.jgpt.engine.model.TinyModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fill-in-the-middle tokens found by metadata or by text, and the prompt they make. */
class FillInTheMiddleTest {
    @TempDir
    Path dir;

    @Test
    void tokensFoundByTheirTextMakeAPrefixSuffixMiddlePrompt() {
        try (GgufFile gguf = vocabulary(List.of("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), w -> { })) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            FillInTheMiddle fim = FillInTheMiddle.of(gguf, tokenizer).orElseThrow();
            int pre = tokenizer.tokenId("<|fim_prefix|>");
            int suf = tokenizer.tokenId("<|fim_suffix|>");
            int mid = tokenizer.tokenId("<|fim_middle|>");
            assertEquals(new FillInTheMiddle(tokenizer, pre, suf, mid), fim);

            int[] prefix = tokenizer.encode("the cat", false, false);
            int[] suffix = tokenizer.encode("the mat", false, false);
            List<Integer> expected = new ArrayList<>(List.of(tokenizer.bos(), pre));
            for (int t : prefix) {
                expected.add(t);
            }
            expected.add(suf);
            for (int t : suffix) {
                expected.add(t);
            }
            expected.add(mid);
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), fim.prompt("the cat", "the mat"));
        }
    }

    @Test
    void metadataIdsWinOverTexts() {
        try (GgufFile gguf = vocabulary(List.of("<A>", "<B>", "<C>"), w -> {
            int base = TinyModelWriter.vocabulary().size();
            w.putU32("tokenizer.ggml.fim_pre_token_id", base);
            w.putU32("tokenizer.ggml.fim_suf_token_id", base + 1);
            w.putU32("tokenizer.ggml.fim_mid_token_id", base + 2);
        })) {
            FillInTheMiddle fim = FillInTheMiddle.of(gguf, Tokenizer.fromGguf(gguf)).orElseThrow();
            int base = TinyModelWriter.vocabulary().size();
            assertEquals(base, fim.prefixToken());
            assertEquals(base + 1, fim.suffixToken());
            assertEquals(base + 2, fim.middleToken());
        }
    }

    @Test
    void aVocabularyWithoutThemHasNone() {
        try (GgufFile gguf = GgufReader.read(SharedData.model("tiny-llama3-q4_0.gguf"))) {
            assertTrue(FillInTheMiddle.of(gguf, Tokenizer.fromGguf(gguf)).isEmpty());
        }
        try (GgufFile gguf = vocabulary(List.of("<|fim_prefix|>", "<|fim_middle|>"), w -> { })) {
            assertTrue(FillInTheMiddle.of(gguf, Tokenizer.fromGguf(gguf)).isEmpty(), "the suffix token is missing");
        }
    }

    /** A tokenizer-only file: the tiny test vocabulary plus {@code extra} control tokens. */
    private GgufFile vocabulary(List<String> extra, Consumer<GgufWriter> more) {
        List<String> vocab = new ArrayList<>(TinyModelWriter.vocabulary());
        vocab.addAll(extra);
        int n = vocab.size();
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            scores[i] = i < 259 ? 0f : -i;
            types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : i >= n - extra.size() ? 3 : 1;
        }
        GgufWriter w = new GgufWriter();
        w.put("tokenizer.ggml.model", "llama");
        w.putArray("tokenizer.ggml.tokens", vocab.toArray(new String[0]));
        w.putArray("tokenizer.ggml.scores", scores);
        w.putArray("tokenizer.ggml.token_type", types);
        w.putU32("tokenizer.ggml.bos_token_id", 1);
        w.putU32("tokenizer.ggml.eos_token_id", 2);
        w.putU32("tokenizer.ggml.unknown_token_id", 0);
        more.accept(w);
        Path file = dir.resolve("vocab-" + System.nanoTime() + ".gguf");
        w.write(file);
        return GgufReader.read(file);
    }
}
