package io.cohortsync.domain;

import java.time.Duration;
import java.util.List;

/** Port: the reconciler's job queue. Returns only once every job is durably queued. */
public interface ReconcileQueue {
    void enqueue(List<ReconcileJob> jobs);

    /** Queues jobs to be looked at again after {@code delay} (at most {@link DelayedDeltaQueue#MAX_DELAY_SECONDS}). */
    void enqueueDelayed(List<ReconcileJob> jobs, Duration delay);
}
