package io.cohortsync.domain;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One Mixpanel call as remembered in the sync history: what it asked, what changed, how it was
 * answered, and (added by the sender as it delivers) how many of its changes reached Segment. Counts
 * and ids only: no distinct ids. Made with {@link #ofCall}, {@link #ofReconcile} or {@link #of}, whose
 * parameters group the fields by where they come from.
 *
 * @param observedAt when the webhook handled the call (also the {@code observedAt} of its deltas)
 * @param session    what happened to a full-sync session (NONE, INCOMPLETE, APPLIED, HELD, ALREADY_DECIDED)
 * @param outcome    success, held, or failure
 * @param sent       identifies Segment accepted for this call's changes
 * @param rejected   identifies Segment refused for good (in the DLQ with their reason)
 * @param wouldSend  identifies a dry run would have sent
 * @param integrationId  the call's {@code mixpanel_integration_id} (undocumented, seen in real traffic); null if none
 * @param unknownFields  names (never values) of the undocumented fields the call carried, tolerated
 * @param anonymous  members sent by anonymousId ({@code MISSING_USER_ID=anonymous}), a count
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

    /**
     * What was asked: the call's action and paging, as Mixpanel sent them ({@link #NONE_ASKED} for work
     * that no call asked for, the reconciler's).
     *
     * @param skipped   members left out, by reason
     * @param anonymous members kept without the user-id property, to be sent by anonymousId
     */
    public record Asked(String action, String sessionId, int page, int totalPages, int membersReceived,
                        Map<String, Integer> skipped, String integrationId, List<String> unknownFields,
                        int anonymous) {
        public Asked {
            Objects.requireNonNull(action, "action");
            skipped = Map.copyOf(skipped);
            unknownFields = unknownFields == null ? List.of() : List.copyOf(unknownFields);
        }

        /** A call with no anonymous members. */
        public Asked(String action, String sessionId, int page, int totalPages, int membersReceived,
                     Map<String, Integer> skipped, String integrationId, List<String> unknownFields) {
            this(action, sessionId, page, totalPages, membersReceived, skipped, integrationId, unknownFields, 0);
        }

        /** Work no Mixpanel call asked for (the reconciler's): the action and session only. */
        public static Asked work(String action, String sessionId) {
            return new Asked(action, sessionId, 0, 0, 0, Map.of(), null, List.of());
        }
    }

    /** What changed. @param renamed members re-announced under a new name */
    public record Changed(int enters, int exits, int unchanged, int renamed, String session, int sessionExits) {
    }

    /** How it was answered. */
    public record Answered(int status, String outcome, double durationMs) {
    }

    /** What reached Segment (added by the sender). */
    public record Delivered(long sent, long rejected, long wouldSend) {
        public static final Delivered NOTHING = new Delivered(0, 0, 0);
    }

    /** A webhook call's entry, before the sender adds what it delivered. */
    public static HistoryEntry ofCall(CohortRef cohort, Instant observedAt, String requestId, Asked asked,
                                      Changed changed, Answered answered) {
        return of(cohort, observedAt, requestId, asked, changed, answered, Delivered.NOTHING);
    }

    /** The reconciler's entry for a piece of work that ended (an exit pass, a rename, a migration). */
    public static HistoryEntry ofReconcile(CohortRef cohort, Instant at, String action, String sessionId,
                                           Changed changed, String outcome, double durationMs) {
        return of(cohort, at, null, Asked.work(action, sessionId), changed, new Answered(200, outcome, durationMs),
                Delivered.NOTHING);
    }

    /** Every part of an entry (as read back from the store). */
    public static HistoryEntry of(CohortRef cohort, Instant observedAt, String requestId, Asked asked, Changed changed,
                                  Answered answered, Delivered delivered) {
        return new HistoryEntry(cohort, observedAt, requestId, asked.action(), asked.sessionId(), asked.page(),
                asked.totalPages(), asked.membersReceived(), asked.skipped(), changed.enters(), changed.exits(),
                changed.unchanged(), changed.renamed(), changed.session(), changed.sessionExits(), answered.status(),
                answered.outcome(), answered.durationMs(), delivered.sent(), delivered.rejected(),
                delivered.wouldSend(), asked.integrationId(), asked.unknownFields(), asked.anonymous());
    }
}
