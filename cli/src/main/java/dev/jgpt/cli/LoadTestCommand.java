package dev.jgpt.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jgpt.api.ApiServer;
import dev.jgpt.api.ModelCatalog;
import dev.jgpt.api.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code jgpt loadtest}: many concurrent streaming chat clients against a server (an in-process one on a
 * free port, or {@code --url}), after one client alone for comparison. Every request must complete or be
 * refused with 429/503; any other ending counts as lost, is listed, and makes the command fail.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = "Concurrent streaming chat clients: completed/rejected/lost requests, aggregate tokens/s, "
                + "p50/p99 time to first token and inter-token latency.")
final class LoadTestCommand implements Callable<Integer> {
    private static final int SINGLE_STREAM_REQUESTS = 3;

    @Option(names = "--model", description = "GGUF file or model name (with --url: the served model's name)")
    String model;

    @Option(names = "--clients", defaultValue = "64", description = "Concurrent clients (default: ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--requests", description = "Requests in all, shared by the clients (default: one per client)")
    Integer requests;

    @Option(names = "--max-tokens", defaultValue = "32", description = "max_tokens per request (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--url", description = "Base URL of a running server (e.g. http://127.0.0.1:8080) instead of "
            + "starting one")
    String url;

    @Option(names = "--api-key", description = "With --url: the key the server requires (sent as a bearer token)")
    String apiKey;

    @Option(names = "--queue", defaultValue = "16", description = "In-process server: requests that may wait per "
            + "model before 429, as serve's --queue (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(names = "--ctx-size", defaultValue = "4096", description = "In-process server: context size "
            + "(default: ${DEFAULT-VALUE})")
    int contextSize;

    @Option(names = "--threads", description = "In-process server: threads for matrix products (default: all cores)")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object instead of text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        int total = requests == null ? clients : requests;
        if (clients < 1 || total < 1 || maxTokens < 1) {
            throw new CliException("--clients, --requests and --max-tokens must be at least 1");
        }
        ApiServer server = null;
        String base = url;
        String name = model;
        try {
            if (url == null) {
                EngineThreads.configure(threads);
                Path file = ModelLocator.resolve(model);
                name = ModelCatalog.nameOf(file);
                server = ApiServer.create(new ServerConfig("127.0.0.1", 0, List.of(file), null, contextSize, queue))
                        .start();
                base = "http://127.0.0.1:" + server.port();
            } else if (model == null) {
                throw new CliException("--url needs --model NAME: the name the server serves the model under");
            }
            return run(base, name, total);
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    private int run(String base, String name, int total) throws InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build()) {
            StreamingChatClient client = new StreamingChatClient(http, base, name, apiKey);
            // Warm-up (model load, JIT) is not measured.
            StreamingChatClient.Result warmUp = client.send(prompt(-1), maxTokens, 0);
            if (warmUp.outcome() != StreamingChatClient.Outcome.COMPLETED) {
                throw new CliException("the warm-up request failed, so the server cannot be measured: "
                        + (warmUp.error() != null ? warmUp.error() : "it was refused with 429/503"));
            }
            List<StreamingChatClient.Result> single = new ArrayList<>();
            long singleStart = System.nanoTime();
            for (int i = 0; i < SINGLE_STREAM_REQUESTS; i++) {
                single.add(client.send(prompt(i), maxTokens, i));
            }
            LoadTestReport alone = LoadTestReport.of(single, System.nanoTime() - singleStart);

            List<StreamingChatClient.Result> results = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger next = new AtomicInteger();
            long start = System.nanoTime();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < clients; c++) {
                    pool.submit(() -> {
                        for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                            results.add(client.send(prompt(i), maxTokens, i));
                        }
                    });
                }
            }
            LoadTestReport loaded = LoadTestReport.of(List.copyOf(results), System.nanoTime() - start);
            print(name, total, alone, loaded);
            if (loaded.lost() > 0 || alone.lost() > 0) {
                List<String> errors = new ArrayList<>(alone.errors());
                errors.addAll(loaded.errors());
                throw new CliException((alone.lost() + loaded.lost()) + " request(s) were lost (neither completed nor"
                        + " refused with 429/503); first: " + errors.getFirst());
            }
            return 0;
        }
    }

    private static String prompt(int i) {
        return "Request " + i + ": tell me a short story about a lighthouse.";
    }

    private void print(String name, int total, LoadTestReport alone, LoadTestReport loaded) {
        if (json) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("model", name).put("clients", clients).put("requests", total).put("max_tokens", maxTokens);
            o.set("single_stream", alone.toJson());
            o.set("concurrent", loaded.toJson());
            System.out.println(o);
            return;
        }
        System.out.println("jgpt loadtest: " + name + ", " + clients + " clients, " + total + " requests of up to "
                + maxTokens + " tokens" + (url == null ? " (in-process server, queue " + queue + ")" : " at " + url));
        System.out.println("  single stream: " + alone.toText());
        System.out.println("  concurrent:    " + loaded.toText());
    }
}
