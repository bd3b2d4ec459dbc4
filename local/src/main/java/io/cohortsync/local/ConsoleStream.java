package io.cohortsync.local;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import java.util.Optional;

/**
 * What {@code make local} puts in place of stdout: it collects each line the functions (and the stack)
 * print and writes what {@link ConsoleFormat} makes of it to the terminal, whole lines only, so lines of
 * threads printing side by side never mix.
 */
final class ConsoleStream extends OutputStream {
    private final PrintStream terminal;
    private final Function<String, Optional<String>> format;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    ConsoleStream(PrintStream terminal, Function<String, Optional<String>> format) {
        this.terminal = terminal;
        this.format = format;
    }

    /** The console for {@code LOG_FORMAT}: short lines (text), or exactly what the functions print (json). */
    static PrintStream console(PrintStream terminal, ConsoleFormat.LogFormat logFormat) {
        return logFormat == ConsoleFormat.LogFormat.JSON ? terminal
                : new PrintStream(new ConsoleStream(terminal, ConsoleFormat::format), true, StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            String line = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            format.apply(line).ifPresent(terminal::println);
        } else {
            pending.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }

    @Override
    public synchronized void flush() {
        terminal.flush();
    }
}
