package io.cohortsync.domain;

/**
 * The stored membership of one user in one cohort: the source of truth. {@code version} grows by
 * one with every committed change; a user never seen is {@link #ABSENT} (not a member, version 0).
 *
 * @param userId the Segment user id recorded when the user entered, when it is not the distinct id
 *               (identity mapping), else null; exits are sent to the id the enter was sent to
 */
public record Membership(boolean member, long version, String userId) {
    public static final Membership ABSENT = new Membership(false, 0);

    public Membership {
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, was " + version);
        }
        if (userId != null && userId.isEmpty()) {
            userId = null;
        }
    }

    public Membership(boolean member, long version) {
        this(member, version, null);
    }

    /** The state after changing membership to {@code newMember}: the next version, same user id. */
    public Membership next(boolean newMember) {
        return new Membership(newMember, version + 1, userId);
    }

    /** The next version with {@code newMember} and the given Segment user id (null: the distinct id). */
    public Membership next(boolean newMember, String newUserId) {
        return new Membership(newMember, version + 1, newUserId);
    }

    /** Same version and membership: what the sender compares a delta with (the user id rides along). */
    public boolean sameState(Membership other) {
        return member == other.member && version == other.version;
    }
}
