package io.cohortsync.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of long commands (backfill, replay, retire) on stderr, so stdout keeps only the report (and
 * {@code --output json} stays one document). On a terminal one line, redrawn in place ({@code \r}) at most
 * every {@link #REDRAW}; otherwise (a pipe, a CI log) a plain line every {@code interval}. Either way a
 * last line when the work ends. Counts only: never an id.
 */
final class ProgressReporter {
    /** Plain lines this often when stderr is not a terminal. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    /** A terminal line is redrawn at most this often: often enough to look alive, rarely enough to cost nothing. */
    static final Duration REDRAW = Duration.ofMillis(200);

    private final PrintStream err;
    private final boolean terminal;
    private final long intervalNanos;
    private final LongSupplier nanoTime;

    /**
     * @param terminal whether stderr is a terminal ({@code System.console() != null})
     * @param interval how often a plain line is printed when it is not
     */
    ProgressReporter(PrintStream err, boolean terminal, Duration interval, LongSupplier nanoTime) {
        this.err = err;
        this.terminal = terminal;
        this.intervalNanos = (terminal ? REDRAW : interval).toNanos();
        this.nanoTime = nanoTime;
    }

    /** Prints nothing: for a command run outside the CLI (tests that drive a command class directly). */
    static ProgressReporter silent() {
        return new ProgressReporter(new PrintStream(OutputStream.nullOutputStream()), false, DEFAULT_INTERVAL,
                System::nanoTime);
    }

    /**
     * Starts reporting one piece of work.
     *
     * @param what  the command, e.g. "backfill"
     * @param total units of work in all (shards, messages, members); 0 or less when unknown (no ETA then)
     * @param unit  their plural noun, e.g. "shards"
     * @param items the plural noun of what the rate counts, e.g. "deltas" (may equal {@code unit})
     */
    Progress start(String what, long total, String unit, String items) {
        return new Progress(what, total, unit, items);
    }

    /** One piece of work: {@link #update} as it goes, {@link #close} when it ends (done or not). */
    final class Progress implements AutoCloseable {
        private final String what;
        private final long total;
        private final String unit;
        private final String items;
        private final long started = nanoTime.getAsLong();
        private long lastPrinted = started;
        private long done;
        private long count;
        private int drawn;
        private boolean closed;

        private Progress(String what, long total, String unit, String items) {
            this.what = what;
            this.total = total;
            this.unit = unit;
            this.items = items;
        }

        /** @param unitsDone units finished so far; @param itemsDone items handled so far (the rate's) */
        void update(long unitsDone, long itemsDone) {
            done = unitsDone;
            count = itemsDone;
            long now = nanoTime.getAsLong();
            if (now - lastPrinted >= intervalNanos) {
                lastPrinted = now;
                print(line(now, false), false);
            }
        }

        /** The last line: what was done, in how long. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            print(line(nanoTime.getAsLong(), true), true);
        }

        private void print(String line, boolean last) {
            if (terminal) {
                // Pad over what the previous, longer line left on screen.
                String padded = line + " ".repeat(Math.max(0, drawn - line.length()));
                drawn = line.length();
                err.print("\r" + padded + (last ? System.lineSeparator() : ""));
            } else {
                err.println(line);
            }
            err.flush();
        }

        /** "backfill: 37/48 shards (77%), 12,345 deltas, 412 deltas/s, ETA 12 s". */
        String line(long now, boolean last) {
            double seconds = Math.max(now - started, 1) / 1e9;
            double rate = count / seconds;
            StringBuilder s = new StringBuilder(what).append(": ");
            if (last) {
                s.append("done, ");
            }
            s.append(number(done));
            if (total > 0) {
                s.append('/').append(number(total));
            }
            s.append(' ').append(unit);
            if (total > 0) {
                s.append(" (").append(Math.min(100, done * 100 / total)).append("%)");
            }
            if (!items.equals(unit)) {
                s.append(", ").append(number(count)).append(' ').append(items);
            }
            s.append(", ").append(number(Math.round(rate))).append(' ').append(items).append("/s");
            if (last) {
                s.append(", ").append(duration(seconds));
            } else if (total > 0 && done > 0 && done < total) {
                double unitsPerSecond = done / seconds;
                s.append(", ETA ").append(duration((total - done) / unitsPerSecond));
            }
            return s.toString();
        }
    }

    static String number(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** "0.4 s", "12 s", "3 min 05 s", "2 h 07 min". */
    static String duration(double seconds) {
        if (seconds < 10) {
            return String.format(Locale.ROOT, "%.1f s", seconds);
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
    }
}
