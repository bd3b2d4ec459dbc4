package io.cohortsync.reliability.support;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Captures what the functions print (their JSON log lines and EMF metrics go to stdout) so it can be
 * scanned for PII and secrets. While open, {@code System.out} and {@code System.err} write here
 * (optionally also to the original stdout); {@link #close()} puts the originals back.
 */
public final class OutputCapture implements AutoCloseable {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final PrintStream originalOut;
    private final PrintStream originalErr;
    private final PrintStream stream;

    private OutputCapture(boolean echo) {
        this.originalOut = System.out;
        this.originalErr = System.err;
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (buffer) {
                    buffer.write(b);
                }
                if (echo) {
                    originalOut.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (buffer) {
                    buffer.write(b, off, len);
                }
                if (echo) {
                    originalOut.write(b, off, len);
                }
            }
        };
        this.stream = new PrintStream(sink, true, StandardCharsets.UTF_8);
        System.setOut(stream);
        System.setErr(stream);
    }

    /** Starts capturing; {@code echo} also shows everything on the original stdout. */
    public static OutputCapture start(boolean echo) {
        return new OutputCapture(echo);
    }

    /** Where a component that takes a stream (the sender) should print. */
    public PrintStream stream() {
        return stream;
    }

    /** The stdout this capture replaced: for the driver's own report. */
    public PrintStream console() {
        return originalOut;
    }

    public String text() {
        synchronized (buffer) {
            return buffer.toString(StandardCharsets.UTF_8);
        }
    }

    /** Returns what was captured so far and starts afresh. */
    public String drain() {
        synchronized (buffer) {
            String text = buffer.toString(StandardCharsets.UTF_8);
            buffer.reset();
            return text;
        }
    }

    @Override
    public void close() {
        stream.flush();
        System.setOut(originalOut);
        System.setErr(originalErr);
    }
}
