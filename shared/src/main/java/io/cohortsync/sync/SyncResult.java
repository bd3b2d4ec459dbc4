package io.cohortsync.sync;

import io.cohortsync.mixpanel.CohortExport;

/**
 * What one webhook call changed. Counts only: no distinct ids, so it can be logged as is.
 *
 * @param enters        users committed as members
 * @param exits         users committed as non-members
 * @param unchanged     listed users already in the asked state
 * @param deltasQueued  deltas put on the queue (more than enters + exits after a lost race)
 * @param session       what happened to the full-sync session, if any
 * @param pagesReceived pages of the session recorded so far (0 outside full syncs)
 * @param sessionExits  users the exit pass found absent (applied, or held)
 * @param renamed       members re-announced because the cohort's name changed
 * @param observedAt    when the call was handled: the {@code observedAt} of its deltas
 */
public record SyncResult(CohortExport export, int enters, int exits, int unchanged, int deltasQueued,
                         SessionStatus session, int pagesReceived, int sessionExits, int renamed,
                         java.time.Instant observedAt) {

    public SyncResult(CohortExport export, int enters, int exits, int unchanged, int deltasQueued,
                      SessionStatus session, int pagesReceived, int sessionExits) {
        this(export, enters, exits, unchanged, deltasQueued, session, pagesReceived, sessionExits, 0, null);
    }

    public SyncResult completed(int renamedCount, java.time.Instant at) {
        return new SyncResult(export, enters, exits, unchanged, deltasQueued, session, pagesReceived, sessionExits,
                renamedCount, at);
    }

    public enum SessionStatus {
        /** Not a full sync. */
        NONE,
        /** A page of a full sync whose other pages have not all arrived; no exits yet. */
        INCOMPLETE,
        /** The session completed with this call and its exits were committed. */
        APPLIED,
        /** The session completed but would exit too many users: nothing exited, operator alerted. */
        HELD,
        /** The session's exit pass was already decided by an earlier call (a replay). */
        ALREADY_DECIDED
    }
}
