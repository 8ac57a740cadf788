package dev.jgpt.cli;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reading user-named files with errors a person can act on. */
final class TextFiles {
    private TextFiles() {
    }

    static String readUtf8(Path file) {
        try {
            byte[] bytes = java.nio.file.Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new CliException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new CliException(file + ": is not UTF-8 text");
        } catch (IOException e) {
            throw new CliException(file + ": cannot read: " + e.getMessage());
        }
    }
}
