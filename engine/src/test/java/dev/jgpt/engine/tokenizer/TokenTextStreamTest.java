package dev.jgpt.engine.tokenizer;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Streaming decoding never splits a character and joins up to exactly what decode gives. */
class TokenTextStreamTest {

    private static Tokenizer load(Path file) {
        try (GgufFile gguf = GgufReader.read(file)) {
            return Tokenizer.fromGguf(gguf);
        }
    }

    private static String zh() throws IOException {
        return new String(Files.readAllBytes(SharedData.reference("prompts/zh.txt")), StandardCharsets.UTF_8);
    }

    @Test
    void sentencePieceByteTokensCombineIntoOneCharacter() {
        Tokenizer spm = load(SharedData.model("tiny-llama-q8_0.gguf"));
        int e4 = spm.tokenId("<0xE4>");
        int b8 = spm.tokenId("<0xB8>");
        int ad = spm.tokenId("<0xAD>");
        assertArrayEqualsBytes(new byte[] {(byte) 0xE4}, spm.tokenBytes(e4));

        TokenTextStream stream = TokenTextStream.continuing(spm);
        assertEquals("", stream.accept(e4));
        assertTrue(stream.hasPending());
        assertEquals("", stream.accept(b8));
        assertEquals("中", stream.accept(ad));
        assertFalse(stream.hasPending());
        assertEquals("中", spm.decode(new int[] {e4, b8, ad}));
    }

    @Test
    void chinesePromptRoundTripsThroughTheStream() throws IOException {
        String text = zh();
        for (Path vocab : List.of(SharedData.model("tiny-llama-q8_0.gguf"), SharedData.model("tiny-llama3-q4_0.gguf"),
                SharedData.reference("tokenizer/ggml-vocab-qwen2.gguf"))) {
            Tokenizer tokenizer = load(vocab);
            int[] ids = tokenizer.encode(text, false, false);
            TokenTextStream stream = new TokenTextStream(tokenizer, true, false);
            List<String> chunks = new ArrayList<>();
            boolean waited = false;
            for (int id : ids) {
                String chunk = stream.accept(id);
                waited |= chunk.isEmpty();
                chunks.add(chunk);
                assertFalse(chunk.contains("\uFFFD"), vocab + ": a chunk ends inside a character");
            }
            chunks.add(stream.flush());
            assertEquals(text, String.join("", chunks), vocab.toString());
            assertEquals(tokenizer.decode(ids), String.join("", chunks), vocab.toString());
            if (!vocab.toString().contains("qwen2")) { // Qwen's vocabulary has every character of this prompt
                assertTrue(waited, vocab + ": this prompt has characters split over several tokens");
            }
        }
    }

    @Test
    void leadingSpaceIsRemovedOnlyAtTheStartOfAText() {
        Tokenizer spm = load(SharedData.model("tiny-llama-q8_0.gguf"));
        int[] ids = spm.encode("Hello world", false, false);
        assertEquals(" Hello", new String(spm.tokenBytes(ids[0]), StandardCharsets.UTF_8));

        TokenTextStream start = new TokenTextStream(spm, true, false);
        assertEquals("Hello", start.accept(ids[0]));
        assertEquals(" world", start.accept(ids[1]));

        TokenTextStream continuing = TokenTextStream.continuing(spm);
        assertEquals(" Hello", continuing.accept(ids[0]));

        // Byte-level BPE puts no space before text, so nothing is removed.
        Tokenizer bpe = load(SharedData.model("tiny-llama3-q4_0.gguf"));
        int[] spaced = bpe.encode(" Hello", false, false);
        assertEquals(" Hello", new TokenTextStream(bpe, true, false).accept(spaced[0]));
    }

    @Test
    void controlTokensAreLeftOutUnlessRendered() {
        Tokenizer bpe = load(SharedData.model("tiny-llama3-q4_0.gguf"));
        int eot = bpe.tokenId("<|eot_id|>");
        assertEquals("", TokenTextStream.continuing(bpe).accept(eot));
        assertEquals("<|eot_id|>", new TokenTextStream(bpe, false, true).accept(eot));
    }

    @Test
    void flushGivesAnUnfinishedCharacterAsReplacement() {
        Tokenizer spm = load(SharedData.model("tiny-llama-q8_0.gguf"));
        TokenTextStream stream = TokenTextStream.continuing(spm);
        assertEquals("", stream.accept(spm.tokenId("<0xE4>")));
        assertEquals("\uFFFD", stream.flush());
        assertFalse(stream.hasPending());
    }

    private static void assertArrayEqualsBytes(byte[] expected, byte[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }
}
