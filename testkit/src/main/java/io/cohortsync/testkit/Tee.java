package io.cohortsync.testkit;

import java.io.IOException;
import java.io.OutputStream;

/** Writes to two streams: e.g. the real stdout (test output stays readable) and a capture to scan. */
public final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    public Tee(OutputStream a, OutputStream b) {
        this.a = a;
        this.b = b;
    }

    @Override
    public synchronized void write(int c) throws IOException {
        a.write(c);
        b.write(c);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
        a.write(buf, off, len);
        b.write(buf, off, len);
    }

    @Override
    public synchronized void flush() throws IOException {
        a.flush();
        b.flush();
    }
}
