package io.cohortsync.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * What a command reports on stdout: human lines ({@code --output text}, the default), or one JSON
 * document ({@code --output json}) that the command fills as it goes and {@link #finish} prints once, so
 * a script reads stdout as a whole. Progress never comes here (it goes to stderr, {@link ProgressReporter}).
 * Counts, cohort ids and redacted reasons only, like the human report: never a distinct id.
 */
final class Report {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final boolean json;
    private final ObjectNode document = JSON.createObjectNode();
    private boolean finished;

    Report(PrintStream out, boolean json) {
        this.out = out;
        this.json = json;
    }

    /** Human lines only (a command built without the CLI, as tests do). */
    static Report text(PrintStream out) {
        return new Report(out, false);
    }

    boolean json() {
        return json;
    }

    /** A line of the human report; nothing with {@code --output json}. */
    void println(String line) {
        if (!json) {
            out.println(line);
        }
    }

    void println() {
        println("");
    }

    /** The JSON document; commands fill it whatever the output, it is printed only with {@code --output json}. */
    ObjectNode document() {
        return document;
    }

    /**
     * With {@code --output json}, prints the document once, with {@code exitCode} and, when the command
     * stopped on an error, {@code error}.
     */
    void finish(int exitCode, String error) {
        if (!json || finished) {
            return;
        }
        finished = true;
        document.put("exitCode", exitCode);
        if (error != null) {
            document.putObject("error").put("message", error);
        }
        try {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        out.flush();
    }
}
