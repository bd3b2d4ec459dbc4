package io.cohortsync.cli;

import java.util.function.LongSupplier;

/**
 * Spaces out work to at most {@code perSecond} items a second on average: the n-th item may start
 * {@code n / perSecond} seconds after the first. Unlimited when built by {@link #unlimited()}.
 */
final class RateLimiter {
    /** Sleeps that long (nanoseconds); a test passes one that only advances its clock. */
    interface Sleeper {
        void sleep(long nanos) throws InterruptedException;
    }

    private final int perSecond;
    private final LongSupplier nanoTime;
    private final Sleeper sleeper;
    private long start = Long.MIN_VALUE;
    private long granted;

    RateLimiter(int perSecond, LongSupplier nanoTime, Sleeper sleeper) {
        if (perSecond < 0) {
            throw new IllegalArgumentException("perSecond must be >= 0 (0 = unlimited)");
        }
        this.perSecond = perSecond;
        this.nanoTime = nanoTime;
        this.sleeper = sleeper;
    }

    static RateLimiter unlimited() {
        return new RateLimiter(0, System::nanoTime, n -> { });
    }

    static RateLimiter perSecond(int perSecond) {
        return new RateLimiter(perSecond, System::nanoTime, nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)));
    }

    /** The largest batch to ask for at once: {@code preferred}, but at most one second's worth. */
    int batch(int preferred) {
        return perSecond == 0 ? preferred : Math.min(preferred, perSecond);
    }

    /** Waits until {@code items} more may start. */
    void acquire(int items) {
        if (perSecond == 0) {
            return;
        }
        long now = nanoTime.getAsLong();
        if (start == Long.MIN_VALUE) {
            start = now;
        }
        long due = start + Math.round(granted * 1e9 / perSecond);
        if (due > now) {
            try {
                sleeper.sleep(due - now);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while pacing", e);
            }
        }
        granted += items;
    }
}
