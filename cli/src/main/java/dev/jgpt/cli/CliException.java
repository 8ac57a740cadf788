package dev.jgpt.cli;

/** A problem the user can fix (bad argument, missing file): printed as one line, no stack trace. */
final class CliException extends RuntimeException {
    CliException(String message) {
        super(message);
    }
}
