package dev.jgpt.cli;

import com.sun.net.httpserver.HttpServer;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jgpt pull} against a local server that answers like the Hugging Face Hub (tests never go online). */
class PullCommandTest {
    @TempDir
    Path directory;

    private HttpServer hub;
    private byte[] model;

    @BeforeEach
    void startHub() throws IOException {
        model = Files.readAllBytes(SharedData.model("tiny-qwen3-q8_0.gguf"));
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/api/models/acme/tiny-GGUF", x -> reply(x, 200, """
                {"id": "acme/tiny-GGUF", "siblings": [{"rfilename": "README.md"},
                 {"rfilename": "tiny-Q8_0.gguf"}, {"rfilename": "tiny-Q4_K_M.gguf"}, {"rfilename": "broken-F16.gguf"}]}
                """.getBytes(StandardCharsets.UTF_8)));
        hub.createContext("/acme/tiny-GGUF/resolve/main/tiny-Q4_K_M.gguf", x -> reply(x, 200, model));
        hub.createContext("/acme/tiny-GGUF/resolve/main/tiny-Q8_0.gguf", x -> reply(x, 200, model));
        hub.createContext("/acme/tiny-GGUF/resolve/main/broken-F16.gguf",
                x -> reply(x, 200, "GGUF but not really".getBytes(StandardCharsets.UTF_8)));
        hub.createContext("/", x -> reply(x, 404, "{\"error\":\"Repository not found\"}".getBytes(StandardCharsets.UTF_8)));
        hub.start();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
        x.close();
    }

    @AfterEach
    void stopHub() {
        hub.stop(0);
    }

    private PullCommand pull(String ref) {
        PullCommand c = new PullCommand();
        c.reference = ref;
        c.directory = directory;
        c.environment = Map.of("HF_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort());
        return c;
    }

    @Test
    void pullsThePreferredQuantizationIntoTheModelDirectory() throws Exception {
        assertEquals(0, pull("acme/tiny-GGUF").call());
        Path saved = directory.resolve("tiny-Q4_K_M.gguf");
        assertArrayEquals(model, Files.readAllBytes(saved));
        assertFalse(Files.exists(directory.resolve("tiny-Q4_K_M.gguf.part")));
    }

    @Test
    void aNamedQuantizationPicksItsFile() throws Exception {
        assertEquals(0, pull("acme/tiny-GGUF:q8_0").call());
        assertTrue(Files.exists(directory.resolve("tiny-Q8_0.gguf")));
    }

    @Test
    void aFileThatIsNotGgufIsRefusedAndNotKept() throws Exception {
        CliException e = assertThrows(CliException.class, () -> pull("acme/tiny-GGUF:broken-F16.gguf").call());
        assertTrue(e.getMessage().contains("not a usable GGUF file"), e.getMessage());
        try (var files = Files.list(directory)) {
            assertEquals(List.of(), files.toList(), "nothing saved, no .part left");
        }
    }

    @Test
    void clearErrorsForUnknownRepositoriesAndAmbiguousNames() {
        CliException unknown = assertThrows(CliException.class, () -> pull("acme/nothing").call());
        assertTrue(unknown.getMessage().contains("no model repository 'acme/nothing'"), unknown.getMessage());
        CliException none = assertThrows(CliException.class, () -> pull("acme/tiny-GGUF:Q2_K").call());
        assertTrue(none.getMessage().contains("no file of acme/tiny-GGUF matches 'Q2_K'")
                && none.getMessage().contains("tiny-Q8_0.gguf"), none.getMessage());
        CliException bad = assertThrows(CliException.class, () -> pull("not a repo").call());
        assertTrue(bad.getMessage().contains("neither owner/repository"), bad.getMessage());
    }

    @Test
    void severalFilesWithoutAPreferredOneAskForAName() {
        CliException e = assertThrows(CliException.class,
                () -> PullCommand.choose("acme/x", List.of("a-IQ2_XS.gguf", "b-IQ3_M.gguf"), null));
        assertTrue(e.getMessage().contains("name one as acme/x:FILE"), e.getMessage());
        assertEquals("only.gguf", PullCommand.choose("acme/x", List.of("only.gguf"), null));
    }
}
