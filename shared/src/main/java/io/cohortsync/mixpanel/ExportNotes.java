package io.cohortsync.mixpanel;

import java.util.Objects;

/**
 * How leniently a call was read: what it lacked or carried beyond what the sync needs. For the log
 * line, metrics and the sync history only; none of it changes what is synced.
 *
 * @param projectIdMissing no usable {@code mixpanel_project_id}: the cohort is keyed under
 *                         {@link io.cohortsync.domain.CohortRef#UNKNOWN_PROJECT}
 * @param membersFrom      where the {@code members} list was read from
 */
public record ExportNotes(boolean projectIdMissing, MembersSource membersFrom) {
    /** A call in the documented shape. */
    public static final ExportNotes NONE = new ExportNotes(false, MembersSource.PARAMETERS);

    public ExportNotes {
        Objects.requireNonNull(membersFrom, "membersFrom");
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
