package dev.jgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.api.ApiServer;
import dev.jgpt.api.ServerConfig;
import dev.jgpt.engine.SharedData;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jgpt loadtest} on a tiny model: every request is accounted for, and failures are reported. */
class LoadTestCommandTest {

    @Test
    void everyRequestCompletesOrIsRefused() throws Exception {
        // A queue of 1 behind the running request: with 4 clients some requests may be refused, none lost.
        CommandsTest.Outcome o = CommandsTest.jgpt("loadtest", "--model",
                SharedData.model("tiny-qwen3-q8_0.gguf").toString(), "--clients", "4", "--requests", "6",
                "--max-tokens", "4", "--queue", "1", "--ctx-size", "512", "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode report = new ObjectMapper().readTree(o.out());
        assertEquals(6, report.get("requests").asInt());
        JsonNode concurrent = report.get("concurrent");
        assertEquals(0, concurrent.get("lost").asInt());
        int completed = concurrent.get("completed").asInt();
        assertEquals(6, completed + concurrent.get("rejected").asInt());
        assertTrue(completed >= 2, "the running request and the queued one complete: " + concurrent);
        assertTrue(concurrent.get("tokens_per_second").asDouble() > 0);
        assertTrue(concurrent.get("ttft_p99_ms").asDouble() >= concurrent.get("ttft_p50_ms").asDouble());
        JsonNode single = report.get("single_stream");
        assertEquals(3, single.get("completed").asInt());
        assertTrue(single.get("itl_p50_ms").isNumber() || single.get("itl_p50_ms").isNull());
    }

    @Test
    void aRunningServerCanBeMeasuredByUrl() throws Exception {
        Path model = SharedData.model("tiny-llama-q8_0.gguf");
        try (ApiServer server = ApiServer.create(new ServerConfig("127.0.0.1", 0, List.of(model), null, 512, 8,
                List.of("secret-key"))).start()) {
            String url = "http://127.0.0.1:" + server.port();
            CommandsTest.Outcome o = CommandsTest.jgpt("loadtest", "--url", url, "--model", "tiny-llama-q8_0",
                    "--api-key", "secret-key", "--clients", "3", "--max-tokens", "3");
            assertEquals(0, o.exitCode(), o.err());
            assertTrue(o.out().contains("at " + url), o.out());
            assertTrue(o.out().contains("concurrent:    completed 3, rejected 0, lost 0"), o.out());

            CommandsTest.Outcome refused = CommandsTest.jgpt("loadtest", "--url", url, "--model", "tiny-llama-q8_0",
                    "--clients", "1");
            assertEquals(1, refused.exitCode());
            assertTrue(refused.err().contains("HTTP 401"), refused.err());
        }
    }

    @Test
    void anUnreachableServerIsAnError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CommandsTest.Outcome o = CommandsTest.jgpt("loadtest", "--url", "http://127.0.0.1:" + port, "--model", "m",
                "--clients", "2");
        assertEquals(1, o.exitCode());
        assertTrue(o.err().startsWith("jgpt: error: the warm-up request failed"), o.err());
    }

    @Test
    void percentilesUseTheNearestRank() {
        long[] ms = {5_000_000, 1_000_000, 3_000_000, 2_000_000, 4_000_000};
        assertEquals(3.0, LoadTestReport.percentileMs(ms, 50));
        assertEquals(5.0, LoadTestReport.percentileMs(ms, 99));
        assertEquals(1.0, LoadTestReport.percentileMs(ms, 1));
        assertTrue(Double.isNaN(LoadTestReport.percentileMs(new long[0], 50)));
    }
}
