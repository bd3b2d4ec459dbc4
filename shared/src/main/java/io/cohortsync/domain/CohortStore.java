package io.cohortsync.domain;

import java.time.Instant;
import java.util.Optional;

/**
 * Port: the per-cohort item ({@link CohortState}). Every change to it is conditional on what the
 * caller read, so two requests racing on a rename or on a session's completion cannot both win.
 */
public interface CohortStore {
    /** The cohort's state (strongly consistent), empty for a cohort never seen. */
    Optional<CohortState> load(CohortRef cohort);

    /**
     * Creates the item for a cohort seen for the first time.
     *
     * @return false if it exists already (someone else created it first)
     */
    boolean create(CohortRef cohort, CohortState state);

    /**
     * Stores a rename: {@code next} must be {@code current.renamed(…)}.
     *
     * @return false if the stored name version is no longer {@code current.nameVersion()}
     */
    boolean rename(CohortRef cohort, CohortState current, CohortState next);

    /**
     * In one transaction: the cohort moves to {@code current.epoch() + 1} with {@code session}'s exit
     * pass pending, and the session's outcome becomes {@link SessionOutcome.Status#RECONCILING}.
     *
     * @return false if the stored epoch is no longer {@code current.epoch()} or the session has an outcome
     */
    boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages);

    /** Clears the pending mark of {@code epoch}'s exit pass (no effect if a newer session completed since). */
    void finishReconcile(CohortRef cohort, long epoch);

    /** Marks the cohort as migrating (requests answer 503 until {@link #finishMigration}). */
    void startMigration(CohortRef cohort, String name);

    /** The cohort's state is in the sharded layout: requests may sync it again. */
    void finishMigration(CohortRef cohort);

    /**
     * Records a call for the cohort (README "Cohorts that stop syncing"): its sync record becomes
     * {@code read.activity().next(at, action)} (or a first one), and a retirement is cleared. The first
     * record of a cohort also enters it in the registry {@link CohortRegistry} lists. Unconditional: two
     * racing calls may both count, which only makes {@code syncs} a little high.
     */
    void recordSync(CohortRef cohort, CohortState read, Instant at, String action);

    /**
     * Ends a retirement (the {@code retire} command): the pending mark of {@code epoch}'s pass is cleared
     * and the cohort marked retired at {@code at}, only if {@code epoch} is still the retirement's and no call
     * was recorded since the retirement read {@code syncsAtStart} ({@link CohortState.Activity#syncs}, 0 without
     * a record): a count, not a time, so the operator's clock and Lambda's need not agree.
     *
     * @return false (nothing written) when a call came or a newer session completed meanwhile
     */
    boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at);
}
