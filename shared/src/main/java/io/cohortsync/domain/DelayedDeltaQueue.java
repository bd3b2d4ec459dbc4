package io.cohortsync.domain;

import java.time.Duration;
import java.util.List;

/**
 * Port: puts deltas back on the delta queue to be looked at again after {@code delay}. The sender
 * uses it for a delta whose change is not committed yet: it may be committed within Mixpanel's retry
 * window, so it is worth another look rather than a drop.
 */
public interface DelayedDeltaQueue {
    /** The longest delay a queue takes: SQS's 15 minutes. Longer delays are refused, not capped. */
    int MAX_DELAY_SECONDS = 900;

    /**
     * Returns only once every delta is durably queued.
     *
     * @throws DependencyUnavailableException if the queue could not take them (retryable)
     */
    void enqueueDelayed(List<Delta> deltas, Duration delay);
}
