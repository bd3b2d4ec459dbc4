package io.cohortsync.domain;

/**
 * The stored membership of one user in one cohort: the source of truth. {@code version} grows by
 * one with every committed change; a user never seen is {@link #ABSENT} (not a member, version 0).
 *
 * @param userId      the Segment user id recorded when the user entered, when it is not the distinct id
 *                    (identity mapping), else null; exits are sent to the id the enter was sent to
 * @param nameVersion the cohort name version the last change was announced under (0: not recorded,
 *                    state written before renames were versioned; treated as the current name)
 * @param listedEpoch the cohort epoch of the last request that listed this user while a reconcile was
 *                    pending, or that changed the user (0: never); the exit pass spares users listed
 *                    at or after its own epoch (README "The race rule")
 * @param anonymous   the user entered without the configured user-id property and {@code MISSING_USER_ID=anonymous}:
 *                    Segment knows them by {@code anonymousId} = the distinct id, and their exit goes there too.
 *                    Never together with a {@code userId}.
 */
public record Membership(boolean member, long version, String userId, long nameVersion, long listedEpoch,
                         boolean anonymous) {
    public static final Membership ABSENT = new Membership(false, 0);

    public Membership {
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, was " + version);
        }
        if (nameVersion < 0 || listedEpoch < 0) {
            throw new IllegalArgumentException("nameVersion and listedEpoch must be >= 0");
        }
        if (userId != null && userId.isEmpty()) {
            userId = null;
        }
        if (anonymous && userId != null) {
            throw new IllegalArgumentException("an anonymous membership has no user id");
        }
    }

    /** A membership known by its user id (or the distinct id): not anonymous. */
    public Membership(boolean member, long version, String userId, long nameVersion, long listedEpoch) {
        this(member, version, userId, nameVersion, listedEpoch, false);
    }

    public Membership(boolean member, long version, String userId) {
        this(member, version, userId, 0, 0);
    }

    public Membership(boolean member, long version) {
        this(member, version, null);
    }

    /** The state after changing membership to {@code newMember}: the next version, same user id. */
    public Membership next(boolean newMember) {
        return new Membership(newMember, version + 1, userId, nameVersion, listedEpoch, anonymous);
    }

    /** The next version with {@code newMember} and the given Segment user id (null: the distinct id). */
    public Membership next(boolean newMember, String newUserId) {
        return next(newMember, newUserId, false);
    }

    /**
     * The next version with {@code newMember} and the given identity: a user id (null: the distinct id), or
     * {@code anonymous} (the distinct id as Segment {@code anonymousId}, no user id).
     */
    public Membership next(boolean newMember, String newUserId, boolean newAnonymous) {
        return new Membership(newMember, version + 1, newAnonymous ? null : newUserId, nameVersion, listedEpoch,
                newAnonymous);
    }

    /** The same state stamped with the name version and epoch of the request that commits it. */
    public Membership stamped(long newNameVersion, long newListedEpoch) {
        return new Membership(member, version, userId, newNameVersion, Math.max(listedEpoch, newListedEpoch),
                anonymous);
    }

    /** Same version and membership: what the sender compares a delta with (the user id rides along). */
    public boolean sameState(Membership other) {
        return member == other.member && version == other.version;
    }
}
