package io.cohortsync.sync;

/**
 * Guards against a broken full export wiping a cohort: a session that would exit more than
 * {@code maxExitShare} of a cohort of at least {@code minMembers} members is held, not applied.
 */
public record MassExitPolicy(double maxExitShare, int minMembers) {
    /** Over half of a cohort of at least 1,000 members. */
    public static final MassExitPolicy DEFAULT = new MassExitPolicy(0.5, 1000);

    public MassExitPolicy {
        if (!(maxExitShare >= 0 && maxExitShare <= 1)) {
            throw new IllegalArgumentException("maxExitShare must be within 0..1, was " + maxExitShare);
        }
        if (minMembers < 0) {
            throw new IllegalArgumentException("minMembers must be >= 0, was " + minMembers);
        }
    }

    public boolean holds(long currentMembers, long exits) {
        return currentMembers >= minMembers && exits > maxExitShare * currentMembers;
    }
}
