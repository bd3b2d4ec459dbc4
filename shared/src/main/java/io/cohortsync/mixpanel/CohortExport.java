package io.cohortsync.mixpanel;

import io.cohortsync.domain.CohortRef;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One parsed, validated Mixpanel webhook call.
 *
 * @param action          what Mixpanel asks
 * @param cohort          project + cohort id
 * @param cohortName      the cohort's display name (trait key)
 * @param sessionId       the export session (may be null: optional for add/remove and one-page exports)
 * @param page            1-based page number (1 when absent)
 * @param totalPages      pages in the session (1 when absent)
 * @param distinctIds     usable, de-duplicated distinct ids in arrival order
 * @param membersReceived how many member entries the request carried, usable or not
 * @param skipped         members skipped, by reason
 * @param userIds         distinct id → Segment user id, for members whose mapped user id differs
 * @param extraTraits     distinct id → member properties to copy as traits (only with an allow-list)
 * @param notes           how leniently the body was read (for the log and history, never for the sync)
 * @param anonymousIds    distinct ids of members that lack the configured user-id property and are synced
 *                        anyway, as Segment {@code anonymousId}s ({@link MissingUserId#ANONYMOUS}); empty otherwise
 */
public record CohortExport(Action action, CohortRef cohort, String cohortName, String sessionId, int page,
                           int totalPages, List<String> distinctIds, int membersReceived,
                           Map<SkipReason, Integer> skipped, Map<String, String> userIds,
                           Map<String, Map<String, Object>> extraTraits, ExportNotes notes, Set<String> anonymousIds) {
    public CohortExport {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(notes, "notes");
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(cohortName, "cohortName");
        if (page < 1 || totalPages < 1 || page > totalPages) {
            throw new IllegalArgumentException("page must be within 1..totalPages, was " + page + "/" + totalPages);
        }
        distinctIds = List.copyOf(distinctIds);
        skipped = skipped.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(skipped));
        userIds = Map.copyOf(userIds);
        extraTraits = Map.copyOf(extraTraits);
        anonymousIds = anonymousIds == null ? Set.of() : Set.copyOf(anonymousIds);
    }

    /** A call without anonymous members. */
    public CohortExport(Action action, CohortRef cohort, String cohortName, String sessionId, int page,
                        int totalPages, List<String> distinctIds, int membersReceived,
                        Map<SkipReason, Integer> skipped, Map<String, String> userIds,
                        Map<String, Map<String, Object>> extraTraits, ExportNotes notes) {
        this(action, cohort, cohortName, sessionId, page, totalPages, distinctIds, membersReceived, skipped, userIds,
                extraTraits, notes, Set.of());
    }

    public CohortExport(Action action, CohortRef cohort, String cohortName, String sessionId, int page,
                        int totalPages, List<String> distinctIds, int membersReceived, Map<SkipReason, Integer> skipped) {
        this(action, cohort, cohortName, sessionId, page, totalPages, distinctIds, membersReceived, skipped, Map.of(),
                Map.of(), ExportNotes.NONE);
    }

    public Optional<String> session() {
        return Optional.ofNullable(sessionId);
    }

    public int skippedCount() {
        return skipped.values().stream().mapToInt(Integer::intValue).sum();
    }
}
