package io.cohortsync.domain;

/**
 * The stored membership of one user in one cohort: the source of truth. {@code version} grows by
 * one with every committed change; a user never seen is {@link #ABSENT} (not a member, version 0).
 */
public record Membership(boolean member, long version) {
    public static final Membership ABSENT = new Membership(false, 0);

    public Membership {
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, was " + version);
        }
    }

    /** The state after changing membership to {@code newMember}: the next version. */
    public Membership next(boolean newMember) {
        return new Membership(newMember, version + 1);
    }
}
