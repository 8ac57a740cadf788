package dev.jgpt.api;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server as the official OpenAI Java SDK sees it: one real server, real tiny models, real HTTP. */
class OpenAiClientTest {
    static final String QWEN = "tiny-qwen3-q8_0";
    static final String LLAMA3 = "tiny-llama3-q4_0";

    @TempDir
    static Path modelDirectory;
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        List<Path> models = List.of(SharedData.model(QWEN + ".gguf"), SharedData.model(LLAMA3 + ".gguf"));
        server = TestServer.start(models, modelDirectory, 4096, 4);
        client = server.openAi();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static ChatCompletionCreateParams.Builder chat(String model, String user, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(model).addSystemMessage("You are terse.")
                .addUserMessage(user).maxCompletionTokens(maxTokens).temperature(0.0);
    }

    @Test
    void chatCompletionHasTheAnswerAndItsUsage() {
        ChatCompletion c = client.chat().completions().create(chat(QWEN, "Hello! Who are you?", 8).build());
        assertTrue(c.id().startsWith("chatcmpl-"), c.id());
        assertEquals(QWEN, c.model());
        assertEquals(1, c.choices().size());
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertNotNull(choice.message().content().orElseThrow());
        String finish = choice.finishReason().asString();
        assertTrue(finish.equals("stop") || finish.equals("length"), finish);
        var usage = c.usage().orElseThrow();
        assertTrue(usage.promptTokens() > 5, "the rendered conversation has more than a handful of tokens");
        assertTrue(usage.completionTokens() <= 8);
        assertEquals(usage.promptTokens() + usage.completionTokens(), usage.totalTokens());
        if (finish.equals("length")) {
            assertEquals(8, usage.completionTokens());
        }
    }

    @Test
    void streamedChatConcatenatesToTheSameAnswerWithUsageLast() {
        ChatCompletionCreateParams params = chat(LLAMA3, "Tell me a story.", 12).build();
        String whole = client.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();

        ChatCompletionCreateParams streamed = params.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        String finish = null;
        ChatCompletionChunk last = null;
        int chunks = 0;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(streamed)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                chunks++;
                last = chunk;
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    if (ch.finishReason().isPresent()) {
                        finish = ch.finishReason().get().asString();
                    }
                }
            }
        }
        assertEquals(whole, text.toString(), "greedy decoding gives the same answer streamed or not");
        assertNotNull(finish);
        assertTrue(chunks >= 3, "role, text and finish chunks");
        assertNotNull(last);
        assertTrue(last.choices().isEmpty(), "the usage chunk has no choices");
        var usage = last.usage().orElseThrow();
        assertTrue(usage.completionTokens() > 0 && usage.completionTokens() <= 12);
        assertEquals(usage.promptTokens() + usage.completionTokens(), usage.totalTokens());
    }

    @Test
    void stopStringEndsTheAnswerBeforeIt() {
        ChatCompletionCreateParams params = chat(QWEN, "Count to ten.", 24).build();
        String whole = client.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();
        if (whole.length() < 6) {
            return; // the random-weight model ended its turn at once; nothing to cut
        }
        String stop = whole.substring(3, 6);
        ChatCompletion c = client.chat().completions().create(params.toBuilder().stop(stop).build());
        String cut = c.choices().getFirst().message().content().orElseThrow();
        assertEquals(whole.substring(0, whole.indexOf(stop)), cut);
        assertEquals("stop", c.choices().getFirst().finishReason().asString());
    }

    @Test
    void textCompletion() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(QWEN)
                .prompt("Once upon a time").maxTokens(5).temperature(0.0).build());
        assertEquals(1, c.choices().size());
        assertNotNull(c.choices().getFirst().text());
        var usage = c.usage().orElseThrow();
        assertTrue(usage.completionTokens() <= 5);
        assertTrue(usage.promptTokens() >= 4);
    }

    @Test
    void modelsListNamesTheServedFiles() {
        List<String> ids = client.models().list().data().stream().map(Model::id).toList();
        assertTrue(ids.containsAll(List.of(QWEN, LLAMA3)), ids.toString());
        assertEquals(QWEN, client.models().retrieve(QWEN).id());
    }

    @Test
    void unknownModelIsNotFound() {
        NotFoundException e = assertThrows(NotFoundException.class,
                () -> client.chat().completions().create(chat("no-such-model", "Hi", 4).build()));
        assertEquals(404, e.statusCode());
        assertEquals("model_not_found", e.code().orElseThrow());
        assertEquals("model", e.param().orElseThrow());
    }

    @Test
    void promptLongerThanTheContextIsRejectedBeforeAnyCompute() {
        String longText = "lorem ipsum dolor sit amet ".repeat(200); // well over the test models' 512 tokens
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat(QWEN, longText, 4).build()));
        assertEquals(400, e.statusCode());
        assertEquals("context_length_exceeded", e.code().orElseThrow());
        assertEquals("messages", e.param().orElseThrow());
        assertTrue(e.getMessage().contains("512"), e.getMessage());
    }

    @Test
    void answerLongerThanTheContextIsRejected() {
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat(LLAMA3, "Hi", 1000).build()));
        assertEquals("context_length_exceeded", e.code().orElseThrow());
    }

    @Test
    void severalChoicesComeBackWithTheirIndexAndZeroIsRefused() {
        ChatCompletion c = client.chat().completions().create(chat(QWEN, "Hi", 4).n(2).build());
        assertEquals(2, c.choices().size());
        assertEquals(0, c.choices().get(0).index());
        assertEquals(1, c.choices().get(1).index());
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat(QWEN, "Hi", 4).n(0).build()));
        assertEquals("n", e.param().orElseThrow());
        assertFalse(e.getMessage().isBlank());
    }
}
