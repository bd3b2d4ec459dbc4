package io.cohortsync.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * One unit of the reconciler's work: one kind of pass over one shard of one cohort. Jobs only
 * announce work; what is done so far lives in the job's checkpoint, so a job message may arrive
 * twice, late, or after its work is finished.
 *
 * @param generation the cohort epoch (exit passes) or name version (renames) the job belongs to; 0 for MIGRATE
 * @param sessionId  the completed session (exit passes), else null
 * @param shard      0..{@link Shards#COUNT}-1; 0 for MIGRATE (the old layout is one partition)
 * @param queuedAt   when the job was first queued: a job whose commit never lands is dropped after a while
 */
public record ReconcileJob(Kind kind, CohortRef cohort, long generation, String sessionId, int shard,
                           Instant queuedAt) {
    public enum Kind {
        /** Count the members a completed session would exit (the mass-exit guard decides on the total). */
        EXIT_COUNT,
        /** Exit them. */
        EXIT_APPLY,
        /** Re-announce members under the cohort's current name. */
        RENAME,
        /** Move the cohort's old single-partition state into its shards. */
        MIGRATE
    }

    public ReconcileJob {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(queuedAt, "queuedAt");
        if (shard < 0 || shard >= Shards.COUNT) {
            throw new IllegalArgumentException("shard must be 0.." + (Shards.COUNT - 1) + ", was " + shard);
        }
        if (generation < 0) {
            throw new IllegalArgumentException("generation must be >= 0, was " + generation);
        }
        if ((kind == Kind.EXIT_COUNT || kind == Kind.EXIT_APPLY) && (sessionId == null || sessionId.isBlank())) {
            throw new IllegalArgumentException("an exit job needs its sessionId");
        }
    }

    /** The same job for another shard. */
    public ReconcileJob forShard(int otherShard) {
        return new ReconcileJob(kind, cohort, generation, sessionId, otherShard, queuedAt);
    }

    /** The same work in the next phase. */
    public ReconcileJob as(Kind next) {
        return new ReconcileJob(next, cohort, generation, sessionId, shard, queuedAt);
    }

    /** One job per shard. */
    public static java.util.List<ReconcileJob> perShard(Kind kind, CohortRef cohort, long generation, String sessionId,
                                                        Instant queuedAt) {
        return java.util.stream.IntStream.range(0, Shards.COUNT)
                .mapToObj(s -> new ReconcileJob(kind, cohort, generation, sessionId, s, queuedAt)).toList();
    }

    /** For logs: no user data, just what and where. */
    public String describe() {
        return kind + " " + cohort.cohortId() + " gen " + generation + " shard " + shard;
    }
}
