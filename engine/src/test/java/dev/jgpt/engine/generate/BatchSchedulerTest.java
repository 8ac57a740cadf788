package dev.jgpt.engine.generate;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Continuous batching on a real (tiny, Q8_0) model: results, prefix reuse, cancellation, the bounded queue. */
class BatchSchedulerTest {
    private static Model model;
    private static Generator generator;

    @BeforeAll
    static void load() {
        model = Model.load(SharedData.model("tiny-qwen3-q8_0.gguf"));
        generator = new Generator(model.transformer(), model.tokenizer());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static int[] prompt(String text) {
        return model.tokenizer().encode(text, true, true);
    }

    private static BatchScheduler scheduler(int slots, int maxWaiting, int prefillChunk) {
        return new BatchScheduler(model.transformer(), model.tokenizer(),
                new BatchScheduler.Config(slots, 256, maxWaiting, prefillChunk));
    }

    private static GenerationRequest greedy(int maxTokens) {
        return new GenerationRequest(SamplingParams.greedy(), maxTokens, List.of(), null, 2);
    }

    @Test
    void concurrentRequestsGetWhatEachGetsAlone() {
        String[] texts = {"Once upon a time", "Hello", "The quick brown fox jumps over the lazy dog, and then it",
                "1 2 3 4"};
        // Three slots for four requests (one waits), and a prefill budget of 5 tokens per step, so long
        // prompts are evaluated in chunks between other sequences' decode steps.
        try (BatchScheduler s = scheduler(3, 4, 5)) {
            List<BatchScheduler.Handle> handles = new ArrayList<>();
            List<StringBuilder> streamed = new ArrayList<>();
            for (String t : texts) {
                StringBuilder sb = new StringBuilder();
                streamed.add(sb);
                handles.add(s.submit(prompt(t), greedy(12), sb::append));
            }
            for (int i = 0; i < texts.length; i++) {
                GenerationResult batched = handles.get(i).result().join();
                GenerationResult alone = generator.generate(generator.newSequence(256), prompt(texts[i]), greedy(12),
                        piece -> { });
                assertEquals(alone.text(), batched.text(), texts[i]);
                assertEquals(alone.completionTokens(), batched.completionTokens());
                assertEquals(alone.finishReason(), batched.finishReason());
                assertEquals(alone.logprobs(), batched.logprobs(), "Q8_0 logits are bit-identical when batched");
                assertEquals(batched.text(), streamed.get(i).toString());
            }
            SchedulerStats stats = s.stats();
            int generated = 0;
            for (BatchScheduler.Handle h : handles) {
                generated += h.result().join().completionTokens();
            }
            assertEquals(generated, stats.tokensGenerated());
            assertEquals(3, stats.slots());
            assertEquals(3L * 256, stats.kvCapacity());
        }
    }

    @Test
    void aConversationsNextTurnReusesItsSlotsCache() {
        try (BatchScheduler s = scheduler(2, 4, 64)) {
            int[] first = prompt("User: Hello there. Assistant:");
            GenerationResult r1 = s.generate(first, greedy(4), piece -> { });
            assertEquals(0, r1.cachedTokens());
            int[] next = prompt("User: Hello there. Assistant: hi. User: how are you?");
            int shared = 0;
            while (shared < first.length && first[shared] == next[shared]) {
                shared++;
            }
            // a stranger sharing only the first token takes the empty slot, not the conversation's
            int[] stranger = prompt("Completely different words");
            assertEquals(0, s.generate(stranger, greedy(4), piece -> { }).cachedTokens());
            GenerationResult r2 = s.generate(next, greedy(4), piece -> { });
            assertEquals(shared, r2.cachedTokens(), "the common prefix comes from the cache");
            GenerationResult alone = generator.generate(generator.newSequence(256), next, greedy(4), piece -> { });
            assertEquals(alone.text(), r2.text(), "a reused prefix gives the same answer");
            assertEquals(1, s.stats().cacheHits());
            assertEquals(first.length + stranger.length + next.length - shared, s.stats().promptTokensEvaluated());
        }
    }

    @Test
    void cancellingOrAFailingConsumerFreesTheSlot() throws Exception {
        try (BatchScheduler s = scheduler(1, 2, 64)) {
            CountDownLatch started = new CountDownLatch(1);
            BatchScheduler.Handle endless = s.submit(prompt("Tell me a long story"), greedy(200), p -> started.countDown());
            assertTrue(started.await(30, TimeUnit.SECONDS));
            endless.cancel();
            assertThrows(CancellationException.class, () -> endless.result().join());

            IllegalStateException gone = new IllegalStateException("client went away");
            BatchScheduler.Handle failing = s.submit(prompt("Another story"), greedy(200), p -> {
                throw gone;
            });
            CompletionException e = assertThrows(CompletionException.class, () -> failing.result().join());
            assertSame(gone, e.getCause());

            // the only slot is free again
            GenerationResult r = s.submit(prompt("Hello"), greedy(3), p -> { }).result().get(30, TimeUnit.SECONDS);
            assertTrue(r.completionTokens() <= 3);
            for (int i = 0; i < 100 && s.stats().running() > 0; i++) {
                Thread.sleep(10);
            }
            assertEquals(0, s.stats().running());
        }
    }

    @Test
    void blockingGenerateHandsTextToTheCallingThreadAndCancelsWhenItThrows() {
        try (BatchScheduler s = scheduler(1, 1, 64)) {
            Thread caller = Thread.currentThread();
            List<Thread> seen = new ArrayList<>();
            s.generate(prompt("Hello"), greedy(5), p -> seen.add(Thread.currentThread()));
            assertTrue(seen.stream().allMatch(t -> t == caller), "pieces arrive on the calling thread");

            RuntimeException gone = new RuntimeException("gone");
            RuntimeException thrown = assertThrows(RuntimeException.class,
                    () -> s.generate(prompt("Hello"), greedy(200), p -> {
                        throw gone;
                    }));
            assertSame(gone, thrown);
            assertTrue(s.generate(prompt("Hi"), greedy(2), p -> { }).completionTokens() <= 2, "the slot was freed");
        }
    }

    @Test
    void aFullQueueAndAnOversizedPromptAreRefused() {
        try (BatchScheduler s = scheduler(1, 1, 64)) {
            CountDownLatch started = new CountDownLatch(1);
            BatchScheduler.Handle running = s.submit(prompt("Tell me a long story"), greedy(200), p -> started.countDown());
            BatchScheduler.Handle queued = s.submit(prompt("Hello"), greedy(2), p -> { });
            assertThrows(RejectedExecutionException.class, () -> s.submit(prompt("Hi"), greedy(2), p -> { }));
            assertThrows(ContextOverflowException.class, () -> s.submit(new int[256], greedy(2), p -> { }));
            running.cancel();
            assertTrue(queued.result().join().completionTokens() <= 2, "the queued one ran after");
        }
    }

    @Test
    void closingFailsWhatIsStillWaiting() {
        BatchScheduler s = scheduler(1, 4, 64);
        BatchScheduler.Handle running = s.submit(prompt("Tell me a long story"), greedy(400), p -> { });
        BatchScheduler.Handle queued = s.submit(prompt("Hello"), greedy(2), p -> { });
        s.close();
        for (BatchScheduler.Handle h : List.of(running, queued)) {
            CompletionException e = assertThrows(CompletionException.class, () -> h.result().join());
            assertInstanceOf(RejectedExecutionException.class, e.getCause());
        }
        assertThrows(RejectedExecutionException.class, () -> s.submit(prompt("Hi"), greedy(2), p -> { }));
    }
}
