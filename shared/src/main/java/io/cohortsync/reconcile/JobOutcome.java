package io.cohortsync.reconcile;

import io.cohortsync.domain.ReconcileStore;

/**
 * What one invocation did with one job. Counts only, so it can be logged as is.
 *
 * @param status   how the invocation left the job
 * @param chunks   chunks committed by this invocation
 * @param scanned  items read by this invocation
 * @param matched  members selected by this invocation (absent and unlisted, or on an older name)
 * @param changed  changes committed by this invocation (exits, re-announcements, items migrated)
 * @param decision set when this invocation decided the session's exit pass (APPLY or HELD)
 * @param total    the job's work as a whole after this invocation, when a shard reported
 */
public record JobOutcome(Status status, int chunks, long scanned, long matched, long changed,
                         ReconcileStore.Phase decision, ReconcileStore.Summary total) {
    public enum Status {
        /** The shard is finished (and reported). */
        DONE,
        /** The deadline came first: progress is checkpointed and a continuation queued. */
        CONTINUED,
        /** Nothing left to do: finished earlier (a duplicate or a redelivery). */
        ALREADY_DONE,
        /** A newer session or rename replaced this work. */
        SUPERSEDED,
        /** Its commit has not landed yet: queued again with a delay. */
        WAITING,
        /** Its commit never landed: dropped. */
        NEVER_COMMITTED,
        /** An exit pass too old to trust its session's ids (their TTL is near): dropped, the next full sync decides. */
        EXPIRED,
        /** Another copy of the job wrote its checkpoint first: this copy stopped. */
        LOST_RACE
    }

    static JobOutcome of(Status status) {
        return new JobOutcome(status, 0, 0, 0, 0, null, null);
    }
}
