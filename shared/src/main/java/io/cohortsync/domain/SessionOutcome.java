package io.cohortsync.domain;

/**
 * What became of a complete session's exit pass.
 *
 * @param status  RECONCILING (the reconciler is on it), APPLIED (exits committed) or HELD (too many
 *                exits; nothing applied)
 * @param epoch   the cohort epoch the session's completion started
 * @param members current members counted by the pass (0 until counted)
 * @param exits   users absent from the export (applied, or that would have been; 0 until counted)
 */
public record SessionOutcome(Status status, long epoch, long members, long exits) {
    public enum Status { RECONCILING, APPLIED, HELD }

    public SessionOutcome {
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
        if (members < 0 || exits < 0 || epoch < 0) {
            throw new IllegalArgumentException("epoch, members and exits must be >= 0");
        }
    }
}
