package dev.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.tokenizer.Tokenizer;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jgpt tokenize}: prints the token ids of a file's text as a JSON array. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of a text file as a JSON array (special tokens parsed, BOS as the model says).")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "GGUF model (or vocabulary) file or name")
    String model;

    @Option(names = "--file", required = true, description = "Text file to tokenize (read as UTF-8)")
    Path file;

    @Override
    public Integer call() throws Exception {
        String text = TextFiles.readUtf8(file);
        // Only the vocabulary is needed: read the metadata, not the weights, so vocabulary-only files work too.
        try (GgufFile gguf = GgufReader.read(ModelLocator.resolve(model))) {
            int[] ids = Tokenizer.fromGguf(gguf).encode(text, true, true);
            System.out.println(new ObjectMapper().writeValueAsString(ids));
        }
        return 0;
    }
}
