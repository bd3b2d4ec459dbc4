package io.cohortsync.domain;

import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

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
 * @param userId       the Segment user id when it is not the distinct id (identity mapping), else null
 * @param previousName set on a rename: the old name, whose trait is set to false in the same identify
 * @param resend       set by a backfill: a token that gives the re-sent change a fresh messageId
 * @param extraTraits  member properties copied as traits (the allow-list {@code EXTRA_TRAITS}), on enters only;
 *                     values are strings, numbers or booleans; empty when none
 */
public record Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                    Instant observedAt, String userId, String previousName, String resend,
                    Map<String, Object> extraTraits) {
    public Delta {
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(cohortName, "cohortName");
        Objects.requireNonNull(distinctId, "distinctId");
        Objects.requireNonNull(observedAt, "observedAt");
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1, was " + version);
        }
        if (userId != null && (userId.isEmpty() || userId.equals(distinctId))) {
            userId = null; // one spelling for "the distinct id is the user id"
        }
        if (previousName != null && previousName.equals(cohortName)) {
            previousName = null;
        }
        extraTraits = extraTraits == null || extraTraits.isEmpty() ? Map.of()
                : Collections.unmodifiableMap(new TreeMap<>(extraTraits));
    }

    public Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                 Instant observedAt, String userId, String previousName, String resend) {
        this(cohort, cohortName, distinctId, member, version, observedAt, userId, previousName, resend, null);
    }

    /** A plain membership change: the distinct id is the Segment user id. */
    public Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                 Instant observedAt) {
        this(cohort, cohortName, distinctId, member, version, observedAt, null, null, null, null);
    }

    /** The id Segment knows the user by. */
    public String segmentUserId() {
        return userId != null ? userId : distinctId;
    }

    public Delta withResend(String token) {
        return new Delta(cohort, cohortName, distinctId, member, version, observedAt, userId, previousName, token,
                extraTraits);
    }

    public Membership membership() {
        return new Membership(member, version, userId);
    }

    public static Delta of(CohortRef cohort, String cohortName, Change change, Instant observedAt) {
        return of(cohort, cohortName, change, observedAt, null);
    }

    /** As above, with member properties to copy as traits (used on enters only). */
    public static Delta of(CohortRef cohort, String cohortName, Change change, Instant observedAt,
                           Map<String, Object> extraTraits) {
        return new Delta(cohort, cohortName, change.distinctId(), change.to().member(), change.to().version(),
                observedAt, change.to().userId(), change.previousName(), null,
                change.isEnter() ? extraTraits : null);
    }
}
