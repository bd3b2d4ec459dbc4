package io.cohortsync.domain;

import java.time.Instant;
import java.util.List;

/**
 * Port: the per-call sync history, kept for a limited time. Writing it is best effort: a history
 * that cannot be written never fails a sync (callers log and go on).
 */
public interface SyncHistory {
    /** Used when history is switched off. */
    SyncHistory DISABLED = new SyncHistory() {
        @Override
        public void record(HistoryEntry entry) {
            // History is off: nothing is kept.
        }

        @Override
        public void addDelivered(CohortRef cohort, Instant observedAt, long sent, long rejected, long wouldSend) {
            // History is off: nothing is kept.
        }

        @Override
        public List<HistoryEntry> recent(CohortRef cohort, int limit) {
            return List.of();
        }
    };

    void record(HistoryEntry entry);

    /** Adds delivery counts to the entry of the call that observed these changes, if it still exists. */
    void addDelivered(CohortRef cohort, Instant observedAt, long sent, long rejected, long wouldSend);

    /** The cohort's most recent entries, newest first. */
    List<HistoryEntry> recent(CohortRef cohort, int limit);
}
