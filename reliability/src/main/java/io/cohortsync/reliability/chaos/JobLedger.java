package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.Shards;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's own record of every reconcile job SQS took (from the webhook or the reconciler), so a
 * 2xx can be checked against it: a completed session's count jobs, a rename's jobs, all
 * {@link Shards#COUNT} shards of them, were queued before the answer.
 */
public final class JobLedger {
    /** A job without its {@code queuedAt}: what it is for. */
    record JobKey(ReconcileJob.Kind kind, String cohortId, long generation, String sessionId, int shard) {
    }

    private final Set<JobKey> queued = ConcurrentHashMap.newKeySet();

    void queued(Iterable<ReconcileJob> jobs) {
        for (ReconcileJob j : jobs) {
            queued.add(key(j));
        }
    }

    static JobKey key(ReconcileJob j) {
        return new JobKey(j.kind(), j.cohort().cohortId(), j.generation(), j.sessionId(), j.shard());
    }

    /** How many shards of this work have a job durably queued. */
    int shardsQueued(ReconcileJob.Kind kind, String cohortId, long generation, String sessionId) {
        int n = 0;
        for (int s = 0; s < Shards.COUNT; s++) {
            if (queued.contains(new JobKey(kind, cohortId, generation, sessionId, s))) {
                n++;
            }
        }
        return n;
    }
}
