package io.cohortsync.sync;

import io.cohortsync.mixpanel.CohortExport;

import java.time.Instant;

/**
 * What one webhook call changed. Counts only: no distinct ids, so it can be logged as is.
 *
 * @param enters        users committed as members
 * @param exits         users committed as non-members
 * @param unchanged     listed users already in the asked state
 * @param deltasQueued  deltas put on the queue (more than enters + exits after a lost race)
 * @param session       what happened to the full-sync session, if any
 * @param pagesReceived pages of the session recorded so far (0 outside full syncs)
 * @param sessionExits  always 0 here: the reconciler counts and applies a session's exits
 * @param renamed       name version this call started a rename to (0: none)
 * @param observedAt    when the call was handled: the {@code observedAt} of its deltas
 * @param marked        unchanged members stamped for a pending exit pass (README "The race rule")
 * @param rechecked     users this call committed and queued for a re-check, because a rename or a
 *                      session's completion committed while it wrote (README "Late writes")
 * @param unretired     when the cohort had been retired ({@code retire}) before this call un-retired it, else
 *                      null; {@code retiring} whether a retirement was running when this call came (README
 *                      "Cohorts that stop syncing")
 */
public record SyncResult(CohortExport export, int enters, int exits, int unchanged, int deltasQueued,
                         SessionStatus session, int pagesReceived, int sessionExits, long renamed,
                         Instant observedAt, int marked, int rechecked, Instant unretired, boolean retiring) {

    public SyncResult(CohortExport export, int enters, int exits, int unchanged, int deltasQueued,
                      SessionStatus session, int pagesReceived, int sessionExits) {
        this(export, enters, exits, unchanged, deltasQueued, session, pagesReceived, sessionExits, 0, null, 0, 0, null,
                false);
    }

    public SyncResult completed(long renameVersion, Instant at, int markedCount, int recheckedCount) {
        return new SyncResult(export, enters, exits, unchanged, deltasQueued, session, pagesReceived, sessionExits,
                renameVersion, at, markedCount, recheckedCount, unretired, retiring);
    }

    /** The same result, with what the call found of a retirement. */
    public SyncResult retirement(Instant wasRetiredAt, boolean wasRetiring) {
        return new SyncResult(export, enters, exits, unchanged, deltasQueued, session, pagesReceived, sessionExits,
                renamed, observedAt, marked, rechecked, wasRetiredAt, wasRetiring);
    }

    public enum SessionStatus {
        /** Not a full sync. */
        NONE,
        /** A page of a full sync whose other pages have not all arrived; no exits yet. */
        INCOMPLETE,
        /** The session completed with this call: its exit pass is queued to the reconciler. */
        RECONCILING,
        /** The session's completion was already committed by an earlier call (a replay). */
        ALREADY_DECIDED
    }
}
