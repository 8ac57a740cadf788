package dev.jgpt.api;

import dev.jgpt.engine.generate.FinishReason;
import dev.jgpt.engine.generate.GenerationRequest;
import dev.jgpt.engine.generate.GenerationResult;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A stand-in engine that answers every prompt with one fixed text, streamed in small pieces: for tests of how
 * a server reads answers (such as tool calls in the Hermes syntax) that a random-weight model never writes.
 */
final class ToolCallingTextModel implements TextModel {
    private final String answer;

    ToolCallingTextModel(String answer) {
        this.answer = answer;
    }

    @Override
    public int contextSize() {
        return 4096;
    }

    @Override
    public int vocabularySize() {
        return 100;
    }

    @Override
    public int[] chatPrompt(List<Map<String, Object>> messages) {
        return new int[messages.size() + 1];
    }

    @Override
    public int[] textPrompt(String text) {
        return new int[] {1};
    }

    @Override
    public GenerationResult generate(int[] prompt, GenerationRequest request, Consumer<String> onText) {
        int pieces = 0;
        for (int i = 0; i < answer.length(); i += 4) {
            onText.accept(answer.substring(i, Math.min(answer.length(), i + 4)));
            pieces++;
        }
        return new GenerationResult(answer, FinishReason.STOP, prompt.length, 0, pieces, 0, 0);
    }

    @Override
    public void close() {
    }
}
