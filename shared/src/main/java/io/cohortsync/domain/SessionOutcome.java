package io.cohortsync.domain;

/**
 * What the exit pass of a complete session did.
 *
 * @param status  APPLIED (exits committed) or HELD (too many exits; nothing applied)
 * @param members current members when the pass ran
 * @param exits   users absent from the export (applied, or that would have been)
 */
public record SessionOutcome(Status status, int members, int exits) {
    public enum Status { APPLIED, HELD }

    public SessionOutcome {
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
        if (members < 0 || exits < 0) {
            throw new IllegalArgumentException("members and exits must be >= 0");
        }
    }
}
