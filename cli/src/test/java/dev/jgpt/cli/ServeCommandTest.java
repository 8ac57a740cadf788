package dev.jgpt.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jgpt serve --api-key}: repeatable, else JGPT_API_KEY, else an open server; a missing model directory is
 * created for the advice to copy a file into it.
 */
class ServeCommandTest {

    static ServeCommand parse(Map<String, String> environment, String... args) {
        ServeCommand serve = new ServeCommand();
        serve.environment = environment;
        new CommandLine(serve).parseArgs(args);
        return serve;
    }

    @Test
    void keysComeFromTheRepeatableOption() {
        assertEquals(List.of("k1", "k2"), parse(Map.of("JGPT_API_KEY", "env"), "--api-key", "k1", "--api-key", "k2")
                .apiKeys());
    }

    @Test
    void withoutTheOptionTheEnvironmentVariableIsTheKey() {
        assertEquals(List.of("env-key"), parse(Map.of("JGPT_API_KEY", " env-key\n")).apiKeys());
    }

    @Test
    void withNeitherTheServerIsOpen() {
        assertEquals(List.of(), parse(Map.of()).apiKeys());
        assertEquals(List.of(), parse(Map.of("JGPT_API_KEY", "  ")).apiKeys());
    }

    @Test
    void aBlankKeyIsAnError() {
        CommandsTest.Outcome o = CommandsTest.jgpt("serve", "--api-key", " ", "--port", "0");
        assertEquals(1, o.exitCode(), o.err());
        assertEquals("jgpt: error: an API key must be non-empty and without surrounding spaces\n", o.err());
    }

    @Test
    void keepAliveDurations() {
        assertEquals(java.time.Duration.ofMinutes(5), ServeCommand.parseDuration("5m"));
        assertEquals(java.time.Duration.ofSeconds(30), ServeCommand.parseDuration("30s"));
        assertEquals(java.time.Duration.ofHours(1), ServeCommand.parseDuration("1h"));
        assertEquals(java.time.Duration.ofMillis(250), ServeCommand.parseDuration("250ms"));
        assertEquals(java.time.Duration.ZERO, ServeCommand.parseDuration("0"));
        for (String bad : List.of("5", "five minutes", "-1m", "")) {
            CliException e = org.junit.jupiter.api.Assertions.assertThrows(CliException.class,
                    () -> ServeCommand.parseDuration(bad));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("--keep-alive"), e.getMessage());
        }
    }

    @Test
    void aMissingModelDirectoryIsCreatedAndAFileInItKept(@TempDir Path tmp) throws Exception {
        Path directory = tmp.resolve(".jgpt").resolve("models");
        ServeCommand.createIfMissing(directory);
        assertTrue(Files.isDirectory(directory));
        Path model = Files.writeString(directory.resolve("kept.gguf"), "x");
        ServeCommand.createIfMissing(directory);
        assertEquals("x", Files.readString(model));
    }

    @Test
    void aDirectoryThatCannotBeCreatedIsLeftToTheMessage(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        ServeCommand.createIfMissing(file.resolve("models"));
        assertTrue(Files.isRegularFile(file));
    }
}
