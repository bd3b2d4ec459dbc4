package io.cohortsync.mixpanel;

import java.util.List;
import java.util.Objects;

/**
 * How leniently a call was read: what it lacked or carried beyond what the sync needs. For the log
 * line, metrics and the sync history only; none of it changes what is synced.
 *
 * @param projectIdMissing no usable {@code mixpanel_project_id}: the cohort is keyed under
 *                         {@link io.cohortsync.domain.CohortRef#UNKNOWN_PROJECT}
 * @param membersFrom      where the {@code members} list was read from
 * @param integrationId    {@code parameters.mixpanel_integration_id} (seen in real traffic, documented nowhere);
 *                         null when absent or not a usable id
 * @param unknownFields    names (never values) of undocumented fields at the top level and, prefixed
 *                         {@code parameters.}, inside parameters; sorted, at most {@link #MAX_UNKNOWN_FIELDS},
 *                         then {@code (+N others)} for names left out (too many, or not plain identifiers)
 */
public record ExportNotes(boolean projectIdMissing, MembersSource membersFrom, String integrationId,
                          List<String> unknownFields) {
    /** Unknown field names recorded per call; the rest are counted. */
    public static final int MAX_UNKNOWN_FIELDS = 20;
    /** A call in the documented shape. */
    public static final ExportNotes NONE = new ExportNotes(false, MembersSource.PARAMETERS, null, List.of());

    public ExportNotes {
        Objects.requireNonNull(membersFrom, "membersFrom");
        unknownFields = List.copyOf(unknownFields);
    }

    /**
     * Where the members came from. Mixpanel documents {@code parameters.members}; some tools' views of the
     * payload show {@code members} at the top level. When both are there, {@code parameters.members} wins.
     */
    public enum MembersSource {
        PARAMETERS("parameters"),
        TOP_LEVEL("top-level"),
        BOTH_PARAMETERS_USED("both-parameters-used"),
        /** Neither place carries a list (an empty diff). */
        NONE("none");

        private final String logName;

        MembersSource(String logName) {
            this.logName = logName;
        }

        /** As the log line and the sync history spell it. */
        public String logName() {
            return logName;
        }
    }
}
