package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.InferenceState;
import dev.jgpt.engine.model.Transformer;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Generates text for one sequence at a time: evaluates the prompt (reusing whatever prefix the sequence's
 * cache already holds, so a conversation's next turn costs only its new tokens), then samples token by
 * token, streaming text pieces as soon as they are whole characters and not part of a stop string.
 */
public final class Generator {
    private final Transformer transformer;
    private final Tokenizer tokenizer;

    public Generator(Transformer transformer, Tokenizer tokenizer) {
        this.transformer = transformer;
        this.tokenizer = tokenizer;
    }

    /** A sequence: its cache and the tokens the cache holds. */
    public final class Sequence {
        private final InferenceState state;
        private int[] tokens = new int[64];

        private Sequence(int contextSize) {
            this.state = transformer.newState(contextSize);
        }

        public int contextSize() {
            return state.capacity();
        }

        /** Tokens currently held in the cache. */
        public int length() {
            return state.position();
        }

        private void append(int[] t, int from, int to) {
            int len = state.position();
            transformer.forward(state, t, from, to - from);
            if (tokens.length < state.position()) {
                tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, state.position()));
            }
            System.arraycopy(t, from, tokens, len, to - from);
        }

        private int commonPrefix(int[] prompt) {
            int n = Math.min(state.position(), prompt.length);
            int i = 0;
            while (i < n && tokens[i] == prompt[i]) {
                i++;
            }
            return i;
        }
    }

    public Sequence newSequence(int contextSize) {
        return new Sequence(contextSize);
    }

    /**
     * Generates an answer to {@code prompt} (the whole conversation's tokens) in {@code seq}.
     *
     * @param onText receives each new piece of text as it becomes final
     * @throws ContextOverflowException before any computation when the prompt leaves no room to answer
     */
    public GenerationResult generate(Sequence seq, int[] prompt, GenerationRequest request, Consumer<String> onText) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (prompt.length >= seq.contextSize()) {
            throw new ContextOverflowException(prompt.length + 1, seq.contextSize());
        }
        long t0 = System.nanoTime();
        // Keep the cached prefix, but always evaluate the last prompt token to get fresh logits.
        int reuse = Math.min(seq.commonPrefix(prompt), prompt.length - 1);
        seq.state.truncate(reuse);
        seq.append(prompt, reuse, prompt.length);
        long t1 = System.nanoTime();

        SequenceDecoder decoder = new SequenceDecoder(tokenizer, transformer.config().vocabSize(), prompt, request,
                onText);
        int[] one = new int[1];
        int token = decoder.next(seq.state.logits(), seq.length() + 1 < seq.contextSize());
        while (token >= 0) {
            one[0] = token;
            seq.append(one, 0, 1);
            token = decoder.next(seq.state.logits(), seq.length() + 1 < seq.contextSize());
        }
        long t2 = System.nanoTime();
        return decoder.result(prompt.length, reuse, t1 - t0, t2 - t1);
    }
}
