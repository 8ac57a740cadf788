package dev.jgpt.engine.generate;

import dev.jgpt.engine.model.LogProbabilities;
import dev.jgpt.engine.sampling.Sampler;
import dev.jgpt.engine.tokenizer.TokenTextStream;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The decoding of one answer, step by step, independent of how its forward passes are run (alone by
 * {@link Generator} or batched by {@link BatchScheduler}): turns each step's logits into the next token
 * (sampler, constraint, log-probabilities), streams whole text pieces that are not part of a stop string,
 * and decides when the answer ends. Exceptions from the text consumer or the request's log-probability
 * consumer propagate to the caller.
 */
final class SequenceDecoder {
    private final Tokenizer tokenizer;
    private final GenerationRequest request;
    private final Consumer<String> onText;
    private final Sampler sampler;
    private final TokenTextStream textStream;
    private final StopStringMatcher stops;
    private final TokenConstraint constraint;
    private final StringBuilder text = new StringBuilder();
    private final List<TokenLogprob> logprobs = new ArrayList<>();
    private FinishReason finish = FinishReason.LENGTH;
    private int generated;
    private boolean done;

    /**
     * A decoder for the answer to {@code prompt} (whose tokens count for repetition penalties), handing
     * each final piece of text to {@code onText}.
     */
    SequenceDecoder(Tokenizer tokenizer, int vocabSize, int[] prompt, GenerationRequest request,
                    Consumer<String> onText) {
        this.tokenizer = tokenizer;
        this.request = request;
        this.onText = onText;
        this.sampler = new Sampler(request.sampling(), vocabSize);
        for (int t : prompt) {
            sampler.accept(t);
        }
        this.textStream = TokenTextStream.continuing(tokenizer);
        this.stops = new StopStringMatcher(request.stop());
        this.constraint = request.constraint();
    }

    /**
     * Chooses the token that follows, given the logits after the last token in the sequence (which it may
     * modify), and streams its text.
     *
     * @param roomForMore whether the sequence can still take a token after the one chosen now
     * @return the chosen token, which the caller appends to the sequence before the next call, or -1 when
     *         the answer has ended (then its text is complete; see {@link #result})
     */
    int next(float[] logits, boolean roomForMore) {
        if (done) {
            throw new IllegalStateException("the answer has already ended");
        }
        if (generated >= request.maxTokens()) {
            return end(FinishReason.LENGTH);
        }
        float[] logSoftmax = request.wantsLogprobs() ? LogProbabilities.logSoftmax(logits) : null;
        if (constraint != null) {
            constraint.maskLogits(logits);
        }
        int token = sampler.sample(logits);
        if (tokenizer.isEndOfGeneration(token)) {
            return end(FinishReason.STOP);
        }
        generated++;
        sampler.accept(token);
        if (logSoftmax != null) {
            TokenLogprob lp = TokenLogprob.of(token, logSoftmax, request.topLogprobs());
            logprobs.add(lp);
            request.onLogprob().accept(lp);
        }
        if (constraint != null) {
            constraint.accept(token);
        }
        emit(stops.accept(textStream.accept(token)));
        if (stops.stopped() || (constraint != null && constraint.isComplete())) {
            return end(FinishReason.STOP);
        }
        if (generated == request.maxTokens() || !roomForMore) {
            return end(FinishReason.LENGTH);
        }
        return token;
    }

    private int end(FinishReason reason) {
        finish = reason;
        done = true;
        if (!stops.stopped()) {
            emit(stops.accept(textStream.flush()) + stops.flush());
        }
        return -1;
    }

    private void emit(String piece) {
        if (!piece.isEmpty()) {
            text.append(piece);
            onText.accept(piece);
        }
    }

    int generated() {
        return generated;
    }

    /** The result once the answer has ended. */
    GenerationResult result(int promptTokens, int cachedTokens, long promptNanos, long generationNanos) {
        return new GenerationResult(text.toString(), finish, promptTokens, cachedTokens, generated, promptNanos,
                generationNanos, logprobs);
    }
}
