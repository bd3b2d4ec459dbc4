package io.cohortsync.domain;

import java.time.Instant;
import java.util.List;
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
 * @param integrationId  the call's {@code mixpanel_integration_id} (undocumented, seen in real traffic); null if none
 * @param unknownFields  names (never values) of the undocumented fields the call carried, tolerated
 * @param anonymous      members without the user-id property synced under their distinct id as Segment
 *                       {@code anonymousId} ({@code MISSING_USER_ID=anonymous}); 0 otherwise
 */
public record HistoryEntry(CohortRef cohort, Instant observedAt, String requestId, String action, String sessionId,
                           int page, int totalPages, int membersReceived, Map<String, Integer> skipped, int enters,
                           int exits, int unchanged, int renamed, String session, int sessionExits, int status,
                           String outcome, double durationMs, long sent, long rejected, long wouldSend,
                           String integrationId, List<String> unknownFields, int anonymous) {
    public HistoryEntry {
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(observedAt, "observedAt");
        Objects.requireNonNull(action, "action");
        skipped = Map.copyOf(skipped);
        unknownFields = unknownFields == null ? List.of() : List.copyOf(unknownFields);
    }

    /** An entry without anonymous members. */
    public HistoryEntry(CohortRef cohort, Instant observedAt, String requestId, String action, String sessionId,
                        int page, int totalPages, int membersReceived, Map<String, Integer> skipped, int enters,
                        int exits, int unchanged, int renamed, String session, int sessionExits, int status,
                        String outcome, double durationMs, long sent, long rejected, long wouldSend,
                        String integrationId, List<String> unknownFields) {
        this(cohort, observedAt, requestId, action, sessionId, page, totalPages, membersReceived, skipped, enters, exits,
                unchanged, renamed, session, sessionExits, status, outcome, durationMs, sent, rejected, wouldSend,
                integrationId, unknownFields, 0);
    }

    /** An entry not made from a Mixpanel call's body (the reconciler's): no integration id, no unknown fields. */
    public HistoryEntry(CohortRef cohort, Instant observedAt, String requestId, String action, String sessionId,
                        int page, int totalPages, int membersReceived, Map<String, Integer> skipped, int enters,
                        int exits, int unchanged, int renamed, String session, int sessionExits, int status,
                        String outcome, double durationMs, long sent, long rejected, long wouldSend) {
        this(cohort, observedAt, requestId, action, sessionId, page, totalPages, membersReceived, skipped, enters, exits,
                unchanged, renamed, session, sessionExits, status, outcome, durationMs, sent, rejected, wouldSend, null,
                List.of());
    }
}
