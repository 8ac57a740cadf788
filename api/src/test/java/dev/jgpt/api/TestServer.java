package dev.jgpt.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A real {@link ApiServer} on a free local port, with the plain HTTP client and the OpenAI SDK client tests talk
 * to it through. Closing it closes the clients it handed out and then the server.
 */
final class TestServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    private final ApiServer server;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<OpenAIClient> openAiClients = new ArrayList<>();
    private OpenAIClient openAi;

    private TestServer(ApiServer server) {
        this.server = server;
    }

    /** Starts an open server (no API keys) on a free port of 127.0.0.1 that loads real model files. */
    static TestServer start(List<Path> models, Path modelDirectory, int contextSize, int queueCapacity) {
        return start(new ServerConfig("127.0.0.1", 0, models, modelDirectory, contextSize, queueCapacity));
    }

    /** Starts a server with the given configuration that loads real model files. */
    static TestServer start(ServerConfig config) {
        return new TestServer(ApiServer.create(config).start());
    }

    /** Starts a server whose models are made by {@code loader} (scripted models) instead of read from files. */
    static TestServer start(ServerConfig config, Function<Path, TextModel> loader) {
        return new TestServer(ApiServer.create(config, loader, Clock.systemUTC()).start());
    }

    ApiServer server() {
        return server;
    }

    /** The plain HTTP client, for requests the helpers below do not cover (streams, concurrency). */
    HttpClient http() {
        return http;
    }

    /** {@code path} (starting with {@code /}) on this server. */
    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    /** {@code POST path} with a JSON body ({@code Content-Type: application/json}); the body is read as text. */
    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return send(jsonPost(path, json));
    }

    /** {@link #post} without waiting for the answer, for requests that should run at the same time. */
    CompletableFuture<HttpResponse<String>> postAsync(String path, String json) {
        return http.sendAsync(jsonPost(path, json), HttpResponse.BodyHandlers.ofString());
    }

    /** The request {@link #post} sends, for tests that read the answer some other way (as a stream of bytes). */
    HttpRequest jsonPost(String path, String json) {
        return HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    /** {@code GET path}; the body is read as text. */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    /** Sends {@code request} and reads the body as text. */
    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** The OpenAI SDK pointed at this server's {@code /v1}, without retries (so errors reach the test as sent). */
    OpenAIClient openAi() {
        if (openAi == null) {
            openAi = openAi("not-needed");
        }
        return openAi;
    }

    /** A new OpenAI SDK client sending {@code apiKey} as its bearer token; closed with this server. */
    OpenAIClient openAi(String apiKey) {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(uri("/v1").toString()).apiKey(apiKey)
                .maxRetries(0).build();
        openAiClients.add(client);
        return client;
    }

    /**
     * The JSON payloads of a server-sent event stream's {@code data:} lines, in order, leaving out the closing
     * {@code [DONE]} and any non-JSON data.
     */
    static List<JsonNode> sseData(String body) {
        List<JsonNode> payloads = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: {")) {
                try {
                    payloads.add(JSON.readTree(line.substring("data: ".length())));
                } catch (IOException e) {
                    throw new UncheckedIOException("not a JSON event: " + line, e);
                }
            }
        }
        return payloads;
    }

    @Override
    public void close() {
        openAiClients.forEach(OpenAIClient::close);
        http.close();
        server.close();
    }
}
