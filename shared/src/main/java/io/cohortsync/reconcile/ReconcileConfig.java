package io.cohortsync.reconcile;

import io.cohortsync.sync.MassExitPolicy;

import java.time.Duration;
import java.util.Objects;

/**
 * The reconciler's limits.
 *
 * @param massExitPolicy      decides, on the counted total, whether a session's exits are applied or held
 * @param passIds             session ids one exit pass holds in memory (the memory bound)
 * @param chunk               items read and committed per chunk (one checkpoint per chunk)
 * @param maxChunksPerRun     chunks one invocation does before it queues its continuation (0: until the deadline)
 * @param notYetCommittedWait delay before a job whose commit has not landed is looked at again
 * @param neverCommittedAfter a job still ahead of its cohort this long after it was queued is dropped
 * @param exitJobMaxAge       an exit-pass job queued longer ago than this is dropped unrun: the session's page
 *                            receipts (what it compares members with) start expiring at their TTL, and a pass
 *                            over a half-expired session would exit members it listed. Half the session TTL.
 */
public record ReconcileConfig(MassExitPolicy massExitPolicy, int passIds, int chunk, int maxChunksPerRun,
                              Duration notYetCommittedWait, Duration neverCommittedAfter, Duration exitJobMaxAge) {
    /** Half the default 72-hour session TTL (SESSION_TTL_HOURS). */
    public static final Duration DEFAULT_EXIT_JOB_MAX_AGE = Duration.ofHours(36);

    public static final int DEFAULT_PASS_IDS = 50_000;
    /** A Query page and a commit round of 1,000 items: ~1-2 s on DynamoDB at 16 writes in flight. */
    public static final int DEFAULT_CHUNK = 1_000;

    public ReconcileConfig {
        Objects.requireNonNull(massExitPolicy, "massExitPolicy");
        if (passIds < 2) {
            throw new IllegalArgumentException("passIds must be >= 2 (a pass must move past its start), was " + passIds);
        }
        if (chunk < 1 || chunk > 10_000) {
            throw new IllegalArgumentException("chunk must be 1..10000, was " + chunk);
        }
        if (maxChunksPerRun < 0) {
            throw new IllegalArgumentException("maxChunksPerRun must be >= 0");
        }
        Objects.requireNonNull(exitJobMaxAge, "exitJobMaxAge");
    }

    /** With the default maximum age of exit-pass jobs. */
    public ReconcileConfig(MassExitPolicy massExitPolicy, int passIds, int chunk, int maxChunksPerRun,
                           Duration notYetCommittedWait, Duration neverCommittedAfter) {
        this(massExitPolicy, passIds, chunk, maxChunksPerRun, notYetCommittedWait, neverCommittedAfter,
                DEFAULT_EXIT_JOB_MAX_AGE);
    }

    public static ReconcileConfig defaults(MassExitPolicy policy) {
        return new ReconcileConfig(policy, DEFAULT_PASS_IDS, DEFAULT_CHUNK, 0, Duration.ofSeconds(30),
                Duration.ofMinutes(15));
    }
}
