package dev.jgpt.cli;

import dev.jgpt.engine.gguf.GgufFormatException;
import dev.jgpt.engine.model.ContextOverflowException;
import dev.jgpt.engine.model.ModelLoadException;
import dev.jgpt.engine.template.ChatTemplateException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jgpt} command line: one subcommand per verb. */
@Command(name = "jgpt", mixinStandardHelpOptions = true, version = "jgpt 0.1.0",
        description = "An open, self-hosted ChatGPT in Java.",
        subcommands = {RunCommand.class, BenchCommand.class, ServeCommand.class, PullCommand.class, LoadTestCommand.class, TokenizeCommand.class, LogitsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for a problem with the input (bad file, prompt too long, bad option value). */
    static final int EXIT_INPUT_ERROR = 1;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("jgpt: error: " + describe(e));
            return EXIT_INPUT_ERROR;
        });
        return cli.execute(args);
    }

    /** One line a person can act on; internal errors keep their type so they can be reported. */
    static String describe(Exception e) {
        if (e instanceof CliException || e instanceof ModelLoadException || e instanceof GgufFormatException
                || e instanceof ContextOverflowException || e instanceof ChatTemplateException
                || e instanceof IllegalArgumentException) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage()
                + " (this is a bug in jgpt; please report it with the command you ran)";
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
