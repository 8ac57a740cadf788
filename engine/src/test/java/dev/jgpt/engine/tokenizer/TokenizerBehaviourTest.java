package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import dev.jgpt.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Special tokens, end of generation, decoding and clear errors for broken metadata. */
class TokenizerBehaviourTest {
    @TempDir
    Path dir;

    private static Tokenizer load(Path file) {
        try (GgufFile gguf = GgufReader.read(file)) {
            return Tokenizer.fromGguf(gguf);
        }
    }

    private static Tokenizer vocab(String name) {
        return load(SharedData.reference("tokenizer/ggml-vocab-" + name + ".gguf"));
    }

    @Test
    void controlTokensInTextAreParsedOnlyWhenAsked() {
        Tokenizer qwen = vocab("qwen2");
        int imStart = qwen.tokenId("<|im_start|>");
        int imEnd = qwen.tokenId("<|im_end|>");
        int[] parsed = qwen.encode("<|im_start|>user\nHi<|im_end|>", false, true);
        assertEquals(imStart, parsed[0]);
        assertEquals(imEnd, parsed[parsed.length - 1]);
        int[] literal = qwen.encode("<|im_start|>user\nHi<|im_end|>", false, false);
        assertTrue(Arrays.stream(literal).noneMatch(id -> id == imStart || id == imEnd), Arrays.toString(literal));
        assertEquals("<|im_start|>user\nHi<|im_end|>", qwen.decode(literal));
        assertEquals("user\nHi", qwen.decode(parsed));
        assertEquals("<|im_start|>user\nHi<|im_end|>", qwen.decode(parsed, true));
    }

    @Test
    void sentencePieceAddsBosAndASpaceAfterSpecialTokens() {
        Tokenizer spm = vocab("llama-spm");
        assertEquals(1, spm.bos());
        assertEquals(2, spm.eos());
        int[] ids = spm.encode("Hi</s>Hi", true, true);
        int hi = spm.tokenId("▁Hi");
        assertArrayEquals(new int[] {1, hi, 2, hi}, ids, Arrays.toString(ids));
        assertArrayEquals(new int[] {1}, spm.encode("", true, false));
        assertArrayEquals(new int[0], spm.encode("", false, false));
        // llama.cpp removes the leading space of the first token only; after BOS it stays.
        assertEquals("Hi", spm.decode(new int[] {hi}));
        assertEquals(" Hi", spm.decode(new int[] {1, hi}));
        assertEquals("<s> Hi", spm.decode(new int[] {1, hi}, true));
    }

    @Test
    void byteLevelDefaultsFollowThePreTokenizer() {
        Tokenizer llama3 = vocab("llama-bpe");
        assertEquals(128000, llama3.encode("Hi", true, true)[0], "Llama 3 adds BOS by default");
        Tokenizer qwen = vocab("qwen2");
        assertEquals(qwen.encode("Hi", false, false).length, qwen.encode("Hi", true, true).length,
                "Qwen adds no BOS");
        Tokenizer bert = vocab("bert-bge");
        int[] framed = bert.encode("Hello world", true, false);
        assertEquals(101, framed[0]);
        assertEquals(102, framed[framed.length - 1]);
        assertEquals(101, bert.bos());
    }

    @Test
    void endOfGenerationFollowsLlamaCpp() {
        Tokenizer llama3 = vocab("llama-bpe");
        for (String text : new String[] {"<|eot_id|>", "<|end_of_text|>"}) {
            assertTrue(llama3.isEndOfGeneration(llama3.tokenId(text)), text);
        }
        assertFalse(llama3.isEndOfGeneration(llama3.tokenId("<|begin_of_text|>")));
        assertFalse(llama3.isEndOfGeneration(llama3.tokenId("Hello")));
        assertFalse(llama3.isEndOfGeneration(-1));

        Tokenizer qwen = vocab("qwen2");
        for (String text : new String[] {"<|im_end|>", "<|endoftext|>"}) {
            assertTrue(qwen.isEndOfGeneration(qwen.tokenId(text)), text);
        }
        assertFalse(qwen.isEndOfGeneration(qwen.tokenId("<|im_start|>")));

        Tokenizer spm = vocab("llama-spm");
        assertTrue(spm.isEndOfGeneration(spm.eos()));
        assertFalse(spm.isEndOfGeneration(spm.bos()));
    }

    @Test
    void tokenAccessors() {
        Tokenizer qwen = vocab("qwen2");
        assertEquals(151936, qwen.vocabSize());
        int hello = qwen.tokenId("Hello");
        assertEquals("Hello", qwen.tokenText(hello));
        assertEquals(-1, qwen.tokenId("no such token here"));
        int spaceHello = qwen.tokenId("ĠHello");
        assertEquals(" Hello", new String(qwen.tokenBytes(spaceHello), StandardCharsets.UTF_8));
        assertThrows(IndexOutOfBoundsException.class, () -> qwen.tokenBytes(151936));
    }

    @Test
    void encodesALongPromptInMilliseconds() throws Exception {
        String base = new String(Files.readAllBytes(SharedData.reference("prompts/long.txt")), StandardCharsets.UTF_8)
                + new String(Files.readAllBytes(SharedData.reference("prompts/code.txt")), StandardCharsets.UTF_8)
                + new String(Files.readAllBytes(SharedData.reference("prompts/zh.txt")), StandardCharsets.UTF_8);
        for (String name : new String[] {"llama-spm", "llama-bpe", "qwen2", "bert-bge"}) {
            Tokenizer tokenizer = vocab(name);
            StringBuilder text = new StringBuilder();
            while (tokenizer.encode(text.toString(), false, false).length < 4000) {
                text.append(base);
            }
            String prompt = text.toString();
            for (int warmUp = 0; warmUp < 20; warmUp++) {
                tokenizer.encode(prompt, true, true);
            }
            long best = Long.MAX_VALUE;
            int tokens = 0;
            for (int run = 0; run < 10; run++) {
                long start = System.nanoTime();
                tokens = tokenizer.encode(prompt, true, true).length;
                best = Math.min(best, System.nanoTime() - start);
            }
            System.out.printf("%s: %d tokens in %.2f ms%n", name, tokens, best / 1e6);
            // Milliseconds, not seconds: a generous bound so that a busy machine does not fail the build.
            assertTrue(best < 250_000_000L, name + ": " + tokens + " tokens took " + best / 1e6 + " ms");
        }
    }

    // Broken metadata gives errors that say what is wrong.

    private Path write(GgufWriter writer) {
        Path file = dir.resolve("vocab-" + System.nanoTime() + ".gguf");
        writer.write(file);
        return file;
    }

    private String errorFor(GgufWriter writer) {
        Path file = write(writer);
        return assertThrows(IllegalArgumentException.class, () -> load(file)).getMessage();
    }

    @Test
    void missingTokensArrayIsNamed() {
        String message = errorFor(new GgufWriter().putString("tokenizer.ggml.model", "llama"));
        assertTrue(message.contains("tokenizer.ggml.tokens") && message.contains("missing"), message);
    }

    @Test
    void unknownTokenizerModelIsNamed() {
        String message = errorFor(new GgufWriter().putString("tokenizer.ggml.model", "rwkv-world")
                .putArray("tokenizer.ggml.tokens", new String[] {"a", "b"}));
        assertTrue(message.contains("'rwkv-world'") && message.contains("not supported"), message);
    }

    @Test
    void missingTokenizerModelIsNamed() {
        String message = errorFor(new GgufWriter().putArray("tokenizer.ggml.tokens", new String[] {"a", "b"}));
        assertTrue(message.contains("tokenizer.ggml.model"), message);
    }

    @Test
    void missingMergesAndUnknownPreTokenizerAreNamed() {
        String merges = errorFor(new GgufWriter().putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "gpt-2").putArray("tokenizer.ggml.tokens", new String[] {"a", "b"}));
        assertTrue(merges.contains("tokenizer.ggml.merges"), merges);
        String pre = errorFor(new GgufWriter().putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "martian").putArray("tokenizer.ggml.tokens", new String[] {"a", "b"})
                .putArray("tokenizer.ggml.merges", new String[] {"a b"}));
        assertTrue(pre.contains("'martian'") && pre.contains("tokenizer.ggml.pre"), pre);
    }

    @Test
    void scoresOfTheWrongLengthAreNamed() {
        String message = errorFor(new GgufWriter().putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "a"})
                .putArray("tokenizer.ggml.scores", new float[] {0f, 0f}));
        assertTrue(message.contains("tokenizer.ggml.scores"), message);
    }

    @Test
    void aSmallHandMadeVocabularyWorks() {
        Tokenizer spm = load(write(new GgufWriter().putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab"})
                .putArray("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -1, -1, -2, -3, -1})
                .putArray("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1, 1, 1, 1, 1})));
        assertArrayEquals(new int[] {1, 8, 6}, spm.encode("ab a", true, false));
        assertEquals("ab a", spm.decode(new int[] {1, 8, 6}).substring(1));
        // Without byte tokens each UTF-8 byte of an unknown character becomes the unknown token.
        assertArrayEquals(new int[] {3, 0, 0}, spm.encode("é", false, false));
    }
}
