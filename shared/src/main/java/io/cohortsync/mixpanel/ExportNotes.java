package io.cohortsync.mixpanel;

/**
 * How leniently a call was read: what it lacked or carried beyond what the sync needs. For the log
 * line, metrics and the sync history only; none of it changes what is synced.
 *
 * @param projectIdMissing no usable {@code mixpanel_project_id}: the cohort is keyed under
 *                         {@link io.cohortsync.domain.CohortRef#UNKNOWN_PROJECT}
 */
public record ExportNotes(boolean projectIdMissing) {
    /** A call in the documented shape. */
    public static final ExportNotes NONE = new ExportNotes(false);
}
