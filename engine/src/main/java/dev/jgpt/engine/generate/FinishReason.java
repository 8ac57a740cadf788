package dev.jgpt.engine.generate;

/** Why generation ended, in OpenAI's vocabulary. */
public enum FinishReason {
    /** The model ended its turn (end-of-generation token) or a stop string appeared. */
    STOP,
    /** The token limit or the context size was reached. */
    LENGTH
}
