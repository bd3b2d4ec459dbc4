package io.cohortsync.reliability.chaos;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wall-clock time plus an offset the chaos driver moves forward: Mixpanel's sync interval and the
 * sender's "never committed after 15 minutes" rule play out in simulated minutes while the run takes
 * seconds. Both handlers get this clock, so the webhook's {@code observedAt} and the sender's verdicts
 * agree. Only the driver thread advances it, between steps, never while a handler runs.
 */
public final class SimClock extends Clock {
    private final AtomicLong offsetMillis = new AtomicLong();

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("UTC only");
    }

    @Override
    public Instant instant() {
        return Instant.now().plusMillis(offsetMillis.get());
    }

    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("time only moves forward");
        }
        offsetMillis.addAndGet(d.toMillis());
    }
}
