package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** logprobs, top_logprobs, n and echo as the OpenAI Java SDK and a plain HTTP client see them. */
class LogprobsAndChoicesTest {
    static final String MODEL = "tiny-qwen3-q8_0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path modelDirectory;
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start(List.of(SharedData.model(MODEL + ".gguf")), modelDirectory, 1024, 4);
        client = server.openAi();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static ChatCompletionCreateParams.Builder chat(long maxTokens) {
        return ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("Tell me a story.")
                .maxCompletionTokens(maxTokens).temperature(0.0);
    }

    static JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> r = server.post(path, body);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void chatLogprobsDescribeEveryGeneratedToken() {
        ChatCompletion c = client.chat().completions().create(chat(6).logprobs(true).topLogprobs(3).build());
        ChatCompletion.Choice choice = c.choices().getFirst();
        List<ChatCompletionTokenLogprob> tokens = choice.logprobs().orElseThrow().content().orElseThrow();
        assertEquals(c.usage().orElseThrow().completionTokens(), tokens.size());
        StringBuilder bytes = new StringBuilder();
        for (ChatCompletionTokenLogprob t : tokens) {
            assertTrue(t.logprob() <= 0, "a log-probability is at most 0: " + t.logprob());
            assertEquals(3, t.topLogprobs().size());
            // Greedy decoding picks the most likely token, so it heads its own alternatives.
            assertEquals(t.token(), t.topLogprobs().getFirst().token());
            assertEquals(t.logprob(), t.topLogprobs().getFirst().logprob(), 1e-6);
            assertTrue(t.topLogprobs().get(0).logprob() >= t.topLogprobs().get(1).logprob());
            for (long b : t.bytes().orElseThrow()) {
                bytes.append((char) b);
            }
        }
        String text = new String(bytes.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        assertEquals(choice.message().content().orElseThrow(), text, "the tokens' bytes spell the answer");
    }

    @Test
    void chatWithoutLogprobsHasNone() {
        ChatCompletion c = client.chat().completions().create(chat(3).build());
        assertTrue(c.choices().getFirst().logprobs().isEmpty());
    }

    @Test
    void streamedChunksCarryTheLogprobsOfTheirTokens() {
        ChatCompletion whole = client.chat().completions().create(chat(8).logprobs(true).topLogprobs(2).build());
        List<ChatCompletionTokenLogprob> expected = whole.choices().getFirst().logprobs().orElseThrow().content()
                .orElseThrow();
        List<ChatCompletionTokenLogprob> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                chat(8).logprobs(true).topLogprobs(2).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(choice -> {
                choice.delta().content().ifPresent(text::append);
                choice.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(streamed::addAll);
            }));
        }
        assertEquals(whole.choices().getFirst().message().content().orElseThrow(), text.toString());
        assertEquals(expected.size(), streamed.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).token(), streamed.get(i).token());
            assertEquals(expected.get(i).logprob(), streamed.get(i).logprob(), 1e-6);
        }
    }

    @Test
    void topLogprobsAreCheckedLikeOpenAi() {
        BadRequestException range = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat(2).logprobs(true).topLogprobs(21).build()));
        assertEquals("top_logprobs", range.param().orElseThrow());
        BadRequestException without = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat(2).topLogprobs(2).build()));
        assertEquals("top_logprobs", without.param().orElseThrow());
    }

    @Test
    void nChoicesAreSampledApartAndCountedInUsage() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Tell me a story.").maxCompletionTokens(6).temperature(1.5).seed(7).n(4).build());
        assertEquals(4, c.choices().size());
        Set<String> answers = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            assertEquals(i, c.choices().get(i).index());
            answers.add(c.choices().get(i).message().content().orElseThrow());
        }
        assertTrue(answers.size() > 1, "each choice is its own sample: " + answers);
        var usage = c.usage().orElseThrow();
        assertTrue(usage.completionTokens() > 6, "all choices' tokens count: " + usage.completionTokens());
        assertEquals(usage.promptTokens() + usage.completionTokens(), usage.totalTokens());

        ChatCompletion again = client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Tell me a story.").maxCompletionTokens(6).temperature(1.5).seed(7).n(4).build());
        for (int i = 0; i < 4; i++) {
            assertEquals(c.choices().get(i).message().content(), again.choices().get(i).message().content(),
                    "a seeded request is reproducible choice by choice");
        }
    }

    @Test
    void streamedChoicesCarryTheirIndexAndUsageCountsThemAll() {
        Map<Long, StringBuilder> texts = new HashMap<>();
        Map<Long, String> finish = new HashMap<>();
        long[] completionTokens = {-1};
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(5).n(3)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(choice -> {
                    choice.delta().content().ifPresent(t -> texts.computeIfAbsent(choice.index(),
                            k -> new StringBuilder()).append(t));
                    choice.finishReason().ifPresent(f -> finish.put(choice.index(), f.asString()));
                });
                chunk.usage().ifPresent(u -> completionTokens[0] = u.completionTokens());
            });
        }
        assertEquals(Set.of(0L, 1L, 2L), finish.keySet());
        assertEquals(Set.of(0L, 1L, 2L), texts.keySet());
        // Greedy: three equal answers.
        assertEquals(texts.get(0L).toString(), texts.get(2L).toString());
        assertEquals(15, completionTokens[0]);
    }

    @Test
    void nOutOfRangeIsRefused() {
        for (long n : new long[] {0, 129}) {
            BadRequestException e = assertThrows(BadRequestException.class,
                    () -> client.chat().completions().create(chat(2).n(n).build()));
            assertEquals("n", e.param().orElseThrow());
        }
    }

    @Test
    void completionLogprobsHaveTheLegacyShape() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("Once upon a time").maxTokens(5).temperature(0.0).logprobs(2).n(2).build());
        assertEquals(2, c.choices().size());
        for (CompletionChoice choice : c.choices()) {
            CompletionChoice.Logprobs lp = choice.logprobs().orElseThrow();
            List<String> tokens = lp.tokens().orElseThrow();
            assertEquals(5, tokens.size());
            assertEquals(5, lp.tokenLogprobs().orElseThrow().size());
            assertEquals(5, lp.topLogprobs().orElseThrow().size());
            List<Long> offsets = lp.textOffset().orElseThrow();
            assertEquals(0L, offsets.getFirst());
            for (int i = 1; i < offsets.size(); i++) {
                assertEquals(offsets.get(i - 1) + tokens.get(i - 1).length(), offsets.get(i));
            }
            assertEquals(choice.text(), String.join("", tokens));
        }
        BadRequestException e = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(MODEL).prompt("Hi").maxTokens(2).logprobs(6).build()));
        assertEquals("logprobs", e.param().orElseThrow());
    }

    @Test
    void echoPrependsThePromptAndScoresItsTokens() throws Exception {
        JsonNode r = post("/v1/completions", """
                {"model": "%s", "prompt": "The cat sat", "max_tokens": 3, "temperature": 0, "echo": true,
                 "logprobs": 1}""".formatted(MODEL));
        JsonNode choice = r.get("choices").get(0);
        assertTrue(choice.get("text").asText().startsWith("The cat sat"), choice.toString());
        JsonNode lp = choice.get("logprobs");
        int promptTokens = r.get("usage").get("prompt_tokens").asInt();
        assertEquals(promptTokens + 3, lp.get("tokens").size());
        assertTrue(lp.get("token_logprobs").get(0).isNull(), "nothing precedes the first token");
        assertTrue(lp.get("top_logprobs").get(0).isNull());
        for (int i = 1; i < promptTokens + 3; i++) {
            assertTrue(lp.get("token_logprobs").get(i).asDouble() <= 0);
            assertEquals(1, lp.get("top_logprobs").get(i).size(), lp.toString());
        }
        String text = choice.get("text").asText();
        JsonNode offsets = lp.get("text_offset");
        assertEquals(0, offsets.get(0).asInt(), "BOS sits at the start");
        for (int i = 1; i < promptTokens; i++) {
            String token = lp.get("tokens").get(i).asText();
            if (i == 1) {
                token = token.strip(); // the space SentencePiece puts before the text is not in the text
            }
            assertTrue(text.startsWith(token, offsets.get(i).asInt()), "prompt token '" + token + "' at "
                    + offsets.get(i) + " in '" + text + "'");
        }
        assertEquals("The cat sat".length(), offsets.get(promptTokens).asInt(), "the answer follows the prompt");

        JsonNode scored = post("/v1/completions", """
                {"model": "%s", "prompt": "The cat sat", "max_tokens": 0, "echo": true, "logprobs": 0}"""
                .formatted(MODEL));
        JsonNode only = scored.get("choices").get(0);
        assertEquals("The cat sat", only.get("text").asText());
        assertEquals(promptTokens, only.get("logprobs").get("tokens").size());
        assertEquals(0, scored.get("usage").get("completion_tokens").asInt());
        for (int i = 1; i < promptTokens; i++) {
            assertEquals(lp.get("token_logprobs").get(i).asDouble(),
                    only.get("logprobs").get("token_logprobs").get(i).asDouble(), 1e-6);
        }
    }

    @Test
    void severalPromptsGetNChoicesEachNumberedPromptByPrompt() throws Exception {
        Completion one = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("Once upon a time").maxTokens(3).temperature(0.0).build());
        Completion two = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("The cat sat").maxTokens(3).temperature(0.0).build());
        Completion both = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .promptOfArrayOfStrings(List.of("Once upon a time", "The cat sat")).maxTokens(3).temperature(0.0)
                .n(2).build());
        assertEquals(4, both.choices().size());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, both.choices().get(i).index());
            String expected = (i < 2 ? one : two).choices().getFirst().text();
            assertEquals(expected, both.choices().get(i).text(), "choice " + i);
        }
        var usage = both.usage().orElseThrow();
        assertEquals(one.usage().orElseThrow().promptTokens() + two.usage().orElseThrow().promptTokens(),
                usage.promptTokens());
        assertEquals(12, usage.completionTokens());
    }

    @Test
    void tokenPromptsContinueLikeTheirText() throws Exception {
        // BOS and "▁hello" in the Llama 2 vocabulary are what "hello" tokenizes to.
        Completion text = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("hello").maxTokens(4).temperature(0.0).build());
        Completion tokens = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .promptOfArrayOfTokens(List.of(1L, 22172L)).maxTokens(4).temperature(0.0).build());
        Completion arrays = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .promptOfArrayOfTokenArrays(List.of(List.of(1L, 22172L), List.of(1L, 22172L))).maxTokens(4)
                .temperature(0.0).build());
        assertEquals(text.choices().getFirst().text(), tokens.choices().getFirst().text());
        assertEquals(2, arrays.choices().size());
        assertEquals(text.choices().getFirst().text(), arrays.choices().get(1).text());

        JsonNode echoed = post("/v1/completions", """
                {"model": "%s", "prompt": [1, 22172], "max_tokens": 1, "echo": true}""".formatted(MODEL));
        assertTrue(echoed.get("choices").get(0).get("text").asText().startsWith("<s> hello"), echoed.toString());

        HttpResponse<String> bad = server.post("/v1/completions", """
                {"model": "%s", "prompt": [[1, 2], [1, 99999999]]}""".formatted(MODEL));
        assertEquals(400, bad.statusCode(), bad.body());
        assertEquals("prompt[1]", JSON.readTree(bad.body()).get("error").get("param").asText());
    }

    @Test
    void echoWithoutLogprobsAndStreamedLegacyLogprobs() throws Exception {
        Completion echoed = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("Hello there").maxTokens(2).temperature(0.0).echo(true).build());
        Completion plain = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("Hello there").maxTokens(2).temperature(0.0).build());
        assertEquals("Hello there" + plain.choices().getFirst().text(), echoed.choices().getFirst().text());
        assertTrue(echoed.choices().getFirst().logprobs().isEmpty());

        StringBuilder text = new StringBuilder();
        List<String> tokens = new ArrayList<>();
        try (StreamResponse<Completion> s = client.completions().createStreaming(CompletionCreateParams.builder()
                .model(MODEL).prompt("Hello there").maxTokens(4).temperature(0.0).logprobs(1).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(choice -> {
                text.append(choice.text());
                choice.logprobs().flatMap(CompletionChoice.Logprobs::tokens).ifPresent(tokens::addAll);
            }));
        }
        assertEquals(4, tokens.size());
        assertEquals(text.toString(), String.join("", tokens));
        assertFalse(text.isEmpty());
    }
}
