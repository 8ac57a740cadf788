package dev.jgpt.api;

import dev.jgpt.engine.generate.GenerationResult;

/** The engine's finish reason in OpenAI's words. */
final class FinishReasons {
    private FinishReasons() {
    }

    static String of(GenerationResult r) {
        return switch (r.finishReason()) {
            case STOP -> "stop";
            case LENGTH -> "length";
        };
    }
}
