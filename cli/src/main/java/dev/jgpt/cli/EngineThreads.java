package dev.jgpt.cli;

/** Passes {@code --threads} to the engine's worker pool (read once, when the pool starts). */
final class EngineThreads {
    static final String PROPERTY = "jgpt.threads";

    private EngineThreads() {
    }

    static void configure(Integer threads) {
        if (threads == null) {
            return;
        }
        if (threads < 1) {
            throw new CliException("--threads must be at least 1, got " + threads);
        }
        System.setProperty(PROPERTY, Integer.toString(threads));
    }
}
