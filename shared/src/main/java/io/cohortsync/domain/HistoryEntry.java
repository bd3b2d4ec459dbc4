package io.cohortsync.domain;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One Mixpanel call as remembered in the sync history: what it asked, what changed, how it was
 * answered, and (added by the sender as it delivers) how many of its changes reached Segment. Counts
 * and ids only: no distinct ids.
 *
 * @param observedAt when the webhook handled the call (also the {@code observedAt} of its deltas)
 * @param session    what happened to a full-sync session (NONE, INCOMPLETE, APPLIED, HELD, ALREADY_DECIDED)
 * @param outcome    success, held, or failure
 * @param sent       identifies Segment accepted for this call's changes
 * @param rejected   identifies Segment refused for good (in the DLQ with their reason)
 * @param wouldSend  identifies a dry run would have sent
 */
public record HistoryEntry(CohortRef cohort, Instant observedAt, String requestId, String action, String sessionId,
                           int page, int totalPages, int membersReceived, Map<String, Integer> skipped, int enters,
                           int exits, int unchanged, int renamed, String session, int sessionExits, int status,
                           String outcome, double durationMs, long sent, long rejected, long wouldSend) {
    public HistoryEntry {
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(observedAt, "observedAt");
        Objects.requireNonNull(action, "action");
        skipped = Map.copyOf(skipped);
    }
}
