package dev.jgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufFormatException;
import dev.jgpt.engine.gguf.GgufReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jgpt pull}: downloads a GGUF model from Hugging Face (or any URL) into the model directory, where
 * {@code serve} and {@code run} find it by name. The file is written next to its destination as
 * {@code .part}, checked to be a GGUF file the engine can read, and only then renamed, so an interrupted or
 * bad download never shows up as a model.
 */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = "Download a GGUF model from Hugging Face into the model directory, e.g. "
                + "'jgpt pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M' or a https URL of a .gguf file.")
final class PullCommand implements Callable<Integer> {
    /** Quantizations tried, in order, when the repository has several files and none is named. */
    private static final List<String> PREFERRED = List.of("Q4_K_M", "Q4_0", "Q8_0", "Q5_K_M", "Q6_K", "F16");

    @Parameters(paramLabel = "MODEL", description = "owner/repository[:QUANT or :FILE.gguf], or a URL of a .gguf file")
    String reference;

    @Option(names = "--dir", description = "Directory to save into (default: the model directory, $JGPT_MODELS or ~/.jgpt/models)")
    Path directory;

    /** The environment, read through a field so tests can set it ({@code HF_ENDPOINT}, {@code HF_TOKEN}). */
    Map<String, String> environment = System.getenv();

    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(20))
            .build();

    @Override
    public Integer call() throws Exception {
        Path dir = directory != null ? directory : ModelLocator.modelDirectory();
        URI source = resolve(reference);
        String fileName = Path.of(source.getPath()).getFileName().toString();
        Files.createDirectories(dir);
        Path target = dir.resolve(fileName);
        if (Files.exists(target)) {
            System.err.println("jgpt: " + target + " is already there");
            return 0;
        }
        Path part = dir.resolve(fileName + ".part");
        System.err.println("jgpt: downloading " + source + " to " + target);
        try {
            download(source, part);
        } catch (CliException | IOException | InterruptedException e) {
            Files.deleteIfExists(part); // a broken download never stays behind
            throw e;
        }
        try (GgufFile ignored = GgufReader.read(part)) {
            // readable: header, metadata and tensor table are sound
        } catch (GgufFormatException e) {
            Files.deleteIfExists(part);
            throw new CliException("the download from " + source + " is not a usable GGUF file (" + e.getMessage()
                    + "); nothing was saved");
        }
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        System.err.println("jgpt: saved " + target + "; serve it as '" + fileName.replaceFirst("(?i)\\.gguf$", "") + "'");
        return 0;
    }

    /** The download URL of a reference: a URL as it is, or a repository file chosen through the Hub's API. */
    URI resolve(String ref) throws IOException, InterruptedException {
        if (ref.startsWith("https://") || ref.startsWith("http://")) {
            if (!ref.toLowerCase(Locale.ROOT).split("\\?")[0].endsWith(".gguf")) {
                throw new CliException("'" + ref + "' is not the URL of a .gguf file");
            }
            return URI.create(ref);
        }
        String repo = ref;
        String wanted = null;
        int colon = ref.indexOf(':');
        if (colon >= 0) {
            repo = ref.substring(0, colon);
            wanted = ref.substring(colon + 1);
        }
        if (!repo.matches("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new CliException("'" + ref + "' is neither owner/repository[:QUANT] nor a URL of a .gguf file");
        }
        String endpoint = environment.getOrDefault("HF_ENDPOINT", "https://huggingface.co").replaceFirst("/+$", "");
        HttpResponse<String> listing = send(URI.create(endpoint + "/api/models/" + repo), HttpResponse.BodyHandlers.ofString());
        if (listing.statusCode() == 404 || listing.statusCode() == 401) {
            throw new CliException("no model repository '" + repo + "' on " + endpoint
                    + " (or it is private: set HF_TOKEN)");
        }
        if (listing.statusCode() != 200) {
            throw new CliException(endpoint + " answered " + listing.statusCode() + " for " + repo);
        }
        List<String> ggufs = new ArrayList<>();
        for (JsonNode s : new ObjectMapper().readTree(listing.body()).path("siblings")) {
            String name = s.path("rfilename").asText();
            if (name.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                ggufs.add(name);
            }
        }
        String file = choose(repo, ggufs, wanted);
        return URI.create(endpoint + "/" + repo + "/resolve/main/" + file);
    }

    /** The named file, the one file whose name contains the wanted quantization, or the preferred one. */
    static String choose(String repo, List<String> ggufs, String wanted) {
        if (ggufs.isEmpty()) {
            throw new CliException(repo + " has no .gguf files");
        }
        if (wanted != null) {
            List<String> matches = ggufs.stream()
                    .filter(f -> f.equals(wanted) || f.toLowerCase(Locale.ROOT).contains(wanted.toLowerCase(Locale.ROOT)))
                    .toList();
            if (matches.size() == 1) {
                return matches.get(0);
            }
            throw new CliException((matches.isEmpty() ? "no file of " + repo + " matches '" + wanted + "'"
                    : "'" + wanted + "' matches several files of " + repo) + "; files: " + String.join(", ", ggufs));
        }
        if (ggufs.size() == 1) {
            return ggufs.get(0);
        }
        for (String quant : PREFERRED) {
            for (String f : ggufs) {
                if (f.toUpperCase(Locale.ROOT).contains(quant)) {
                    return f;
                }
            }
        }
        throw new CliException(repo + " has several .gguf files; name one as " + repo + ":FILE; files: "
                + String.join(", ", ggufs));
    }

    private void download(URI source, Path part) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = send(source, HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            response.body().close();
            throw new CliException("download of " + source + " failed: HTTP " + response.statusCode());
        }
        long total = response.headers().firstValueAsLong("content-length").orElse(-1);
        long done = 0;
        long lastReport = System.nanoTime();
        try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(part)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                done += n;
                if (System.nanoTime() - lastReport > 1_000_000_000L) {
                    lastReport = System.nanoTime();
                    System.err.printf("jgpt: %,d MiB%s%n", done >> 20, total > 0 ? " of " + (total >> 20) + " MiB" : "");
                }
            }
        } catch (IOException e) {
            throw new CliException("download of " + source + " broke off after " + done + " bytes (" + e.getMessage()
                    + "); run pull again");
        }
        if (total >= 0 && done != total) {
            throw new CliException("download of " + source + " ended after " + done + " of " + total + " bytes; run pull again");
        }
    }

    private <T> HttpResponse<T> send(URI uri, HttpResponse.BodyHandler<T> body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(30)).GET();
        String token = environment.get("HF_TOKEN");
        if (token != null && !token.isBlank()) {
            request.header("Authorization", "Bearer " + token.strip());
        }
        try {
            return http.send(request.build(), body);
        } catch (IOException e) {
            throw new CliException("cannot reach " + uri.getHost() + " (" + e.getMessage() + ")");
        }
    }
}
