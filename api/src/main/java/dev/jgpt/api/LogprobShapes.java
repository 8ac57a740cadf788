package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.ChatLogprobs;
import dev.jgpt.api.OpenAiProtocol.ChatTokenLogprob;
import dev.jgpt.api.OpenAiProtocol.CompletionLogprobs;
import dev.jgpt.api.OpenAiProtocol.TopLogprob;
import dev.jgpt.engine.generate.TokenLogprob;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's per-token log-probabilities in OpenAI's two shapes: chat ({@code logprobs.content} entries
 * with the token's text and UTF-8 bytes) and legacy completions (parallel lists with text offsets). A
 * token's text is its bytes in the vocabulary, control tokens written out; a token holding part of a
 * multi-byte character shows U+FFFD in {@code token} while {@code bytes} stays exact.
 */
final class LogprobShapes {
    private final TextModel model;

    LogprobShapes(TextModel model) {
        this.model = model;
    }

    /** A chat choice's log-probabilities for these tokens. */
    ChatLogprobs chat(List<TokenLogprob> tokens) {
        List<ChatTokenLogprob> content = new ArrayList<>(tokens.size());
        for (TokenLogprob t : tokens) {
            content.add(chatToken(t));
        }
        return new ChatLogprobs(content, null);
    }

    private ChatTokenLogprob chatToken(TokenLogprob t) {
        List<TopLogprob> top = new ArrayList<>(t.top().size());
        for (TokenLogprob.Candidate c : t.top()) {
            byte[] bytes = model.tokenBytes(c.token());
            top.add(new TopLogprob(text(bytes), c.logprob(), unsigned(bytes)));
        }
        byte[] bytes = model.tokenBytes(t.token());
        return new ChatTokenLogprob(text(bytes), t.logprob(), unsigned(bytes), top);
    }

    /** A builder of legacy {@link CompletionLogprobs}, for one choice. */
    Legacy legacy() {
        return new Legacy();
    }

    /**
     * Collects a text completion's tokens in the legacy shape. {@link #take()} hands over what was added
     * since the previous call (one stream chunk's worth, or everything at once), while character offsets
     * keep counting from the start of the choice's text.
     */
    final class Legacy {
        private int offset;
        private List<String> tokens = new ArrayList<>();
        private List<Double> logprobs = new ArrayList<>();
        private List<Map<String, Double>> top = new ArrayList<>();
        private List<Integer> offsets = new ArrayList<>();

        private Legacy() {
        }

        /**
         * The echoed prompt: its tokens (the first without a log-probability, since nothing precedes it; then
         * {@code scored}, one per later token) placed at their characters in {@code text}; the space a
         * SentencePiece tokenizer puts before the text is skipped, and a token whose text is not there (BOS,
         * part of a character) sits where the next text begins. Generated tokens follow the end of {@code text}.
         */
        void addPrompt(String text, int[] prompt, List<TokenLogprob> scored) {
            int at = 0;
            for (int i = 0; i < prompt.length; i++) {
                String token = text(model.tokenBytes(prompt[i]));
                int start = at;
                if (text.startsWith(token, at)) {
                    at += token.length();
                } else if (token.startsWith(" ") && text.startsWith(token.substring(1), at)) {
                    at += token.length() - 1;
                }
                if (i == 0) {
                    append(token, null, null, start);
                } else {
                    TokenLogprob t = scored.get(i - 1);
                    append(token, (double) t.logprob(), alternatives(t), start);
                }
            }
            offset = text.length();
        }

        /** A generated token. */
        void add(TokenLogprob t) {
            String token = text(model.tokenBytes(t.token()));
            append(token, (double) t.logprob(), alternatives(t), offset);
            offset += token.length();
        }

        boolean isEmpty() {
            return tokens.isEmpty();
        }

        CompletionLogprobs take() {
            CompletionLogprobs out = new CompletionLogprobs(tokens, logprobs, top, offsets);
            tokens = new ArrayList<>();
            logprobs = new ArrayList<>();
            top = new ArrayList<>();
            offsets = new ArrayList<>();
            return out;
        }

        private Map<String, Double> alternatives(TokenLogprob t) {
            Map<String, Double> out = new LinkedHashMap<>();
            for (TokenLogprob.Candidate c : t.top()) {
                // Tokens with the same text share one key; the likelier (first) keeps it.
                out.putIfAbsent(text(model.tokenBytes(c.token())), (double) c.logprob());
            }
            return out;
        }

        private void append(String token, Double logprob, Map<String, Double> alternatives, int at) {
            tokens.add(token);
            logprobs.add(logprob);
            top.add(alternatives);
            offsets.add(at);
        }
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> out = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            out.add(b & 0xFF);
        }
        return out;
    }
}
