package io.cohortsync.send;

import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;

import java.time.Duration;
import java.time.Instant;

/**
 * What to do with a delta, given the stored membership (the source of truth). The webhook queues a
 * delta before it commits the change, so a delta can be ahead of the table for a while.
 */
public enum Verdict {
    /** The table holds exactly this change: send it. */
    SEND,
    /** The table moved past it (higher version), or committed a different change at this version: drop. */
    STALE,
    /** The table is behind: the change may still be committed (a Mixpanel retry): look again later. */
    NOT_YET_COMMITTED,
    /** Behind for longer than a commit could still arrive: the change was never made; drop. */
    NEVER_COMMITTED;

    public static Verdict of(Delta delta, Membership stored, Instant now, Duration neverCommittedAfter) {
        if (stored.version() > delta.version()) {
            return STALE;
        }
        if (stored.version() == delta.version()) {
            return stored.member() == delta.member() ? SEND : STALE;
        }
        return Duration.between(delta.observedAt(), now).compareTo(neverCommittedAfter) > 0
                ? NEVER_COMMITTED : NOT_YET_COMMITTED;
    }
}
