package io.cohortsync.domain;

import java.util.List;
import java.util.Optional;

/**
 * Port: the reconciler's durable progress: one checkpoint per job and shard, and one summary per
 * piece of work (a session's exit pass, a rename, a migration) that the shards report into.
 */
public interface ReconcileStore {
    Optional<Checkpoint> checkpoint(ReconcileJob job);

    /**
     * Writes {@code next} if the stored checkpoint is still {@code previous} (same {@code seq}; none
     * stored for {@link Checkpoint#START}).
     *
     * @return false if another copy of the job wrote first (this copy stops)
     */
    boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next);

    /**
     * Adds one shard's final counts to the summary of its work, once per shard and phase however often it
     * is called.
     *
     * @return the summary after the report
     */
    Summary report(ReconcileJob job, Checkpoint finalCheckpoint);

    /**
     * Moves an exit pass from counting to {@code decision} (APPLY or HELD), once.
     *
     * @return false if it was decided already
     */
    boolean decide(ReconcileJob job, Phase decision);

    /** The summary of the job's work, if any shard reported yet. */
    Optional<Summary> summary(ReconcileJob job);

    /** The cohort's most recent summaries, newest first (for {@code GET /mixpanel/status}). */
    List<Summary> recent(CohortRef cohort, int limit);

    enum Phase { COUNTING, APPLY, HELD, DONE }

    /**
     * @param kind          EXIT (count and apply), RENAME or MIGRATE
     * @param shardsCounted shards that finished counting (exit passes)
     * @param shardsDone    shards that finished their last phase
     * @param members       current members counted (exit passes)
     * @param matched       exits found (exit passes), members on an older name (renames)
     * @param changed       exits committed, members re-announced, items migrated
     * @param scanned       items read by finished shards
     */
    record Summary(String kind, long generation, String sessionId, Phase phase, int shardsCounted, int shardsDone,
                   long members, long matched, long changed, long scanned) {
    }
}
