package io.cohortsync.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * A membership change as announced on the delta queue. It only announces: the sender sends it to
 * Segment only while it still equals the stored {@link Membership} (same version and membership).
 *
 * @param cohort     project + cohort id (the state key)
 * @param cohortName the cohort's name when the change was observed (becomes the trait key)
 * @param distinctId the Mixpanel distinct id (Segment userId)
 * @param member     true for an enter, false for an exit
 * @param version    the membership version this change commits
 * @param observedAt when the webhook observed the change (Segment {@code timestamp})
 */
public record Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                    Instant observedAt) {
    public Delta {
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(cohortName, "cohortName");
        Objects.requireNonNull(distinctId, "distinctId");
        Objects.requireNonNull(observedAt, "observedAt");
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1, was " + version);
        }
    }

    public Membership membership() {
        return new Membership(member, version);
    }

    public static Delta of(CohortRef cohort, String cohortName, Change change, Instant observedAt) {
        return new Delta(cohort, cohortName, change.distinctId(), change.to().member(), change.to().version(),
                observedAt);
    }
}
