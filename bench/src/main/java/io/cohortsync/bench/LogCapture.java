package io.cohortsync.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where the functions' logs go during the benchmark: a file (kept for inspection) and a byte count,
 * which is what CloudWatch Logs ingestion is billed on. Installed as {@code System.out} because the
 * webhook logs to stdout, as it does on Lambda.
 */
final class LogCapture implements AutoCloseable {
    private final AtomicLong bytes = new AtomicLong();
    private final OutputStream file;
    private final PrintStream stream;

    LogCapture(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            this.file = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OutputStream counting = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                bytes.incrementAndGet();
                LogCapture.this.file.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                bytes.addAndGet(len);
                LogCapture.this.file.write(b, off, len);
            }
        };
        this.stream = new PrintStream(counting, true, StandardCharsets.UTF_8);
    }

    PrintStream stream() {
        return stream;
    }

    long bytes() {
        return bytes.get();
    }

    @Override
    public void close() {
        stream.flush();
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
