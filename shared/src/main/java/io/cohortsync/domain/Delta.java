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
 * @param anonymous    Segment knows this user by {@code anonymousId} = the distinct id (they entered without the
 *                     configured user-id property, {@code MISSING_USER_ID=anonymous}); never with a {@code userId}
 * @param reannounced  the membership did not change, only the name it is announced under (a rename's
 *                     re-announcement): an identify carries it, an Audience Entered/Exited event does not
 */
public record Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                    Instant observedAt, String userId, String previousName, String resend,
                    Map<String, Object> extraTraits, boolean anonymous, boolean reannounced) {
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
        if (anonymous && userId != null) {
            throw new IllegalArgumentException("an anonymous delta has no user id");
        }
    }

    /** A change of a user known by user id (or distinct id), that changes membership. */
    public Delta(CohortRef cohort, String cohortName, String distinctId, boolean member, long version,
                 Instant observedAt, String userId, String previousName, String resend,
                 Map<String, Object> extraTraits) {
        this(cohort, cohortName, distinctId, member, version, observedAt, userId, previousName, resend, extraTraits,
                false, false);
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

    /** The Segment {@code userId}: the mapped user id, else the distinct id; null for an anonymous user. */
    public String segmentUserId() {
        return anonymous ? null : userId != null ? userId : distinctId;
    }

    /** The Segment {@code anonymousId}: the distinct id of an anonymous user, else null. */
    public String anonymousId() {
        return anonymous ? distinctId : null;
    }

    public Delta withResend(String token) {
        return new Delta(cohort, cohortName, distinctId, member, version, observedAt, userId, previousName, token,
                extraTraits, anonymous, reannounced);
    }

    public Membership membership() {
        return new Membership(member, version, userId, 0, 0, anonymous);
    }

    /**
     * A backfill's re-send of what the table holds for {@code distinctId}: its membership, version and identity
     * (user id or anonymous), with the run's {@code resend} token (a fresh messageId). Not a re-announcement: a
     * backfill re-sends the Audience Entered/Exited events of the current state too.
     */
    public static Delta current(CohortRef cohort, String cohortName, String distinctId, Membership stored,
                                Instant observedAt, String resend) {
        return new Delta(cohort, cohortName, distinctId, stored.member(), stored.version(), observedAt,
                stored.userId(), null, resend, null, stored.anonymous(), false);
    }

    public static Delta of(CohortRef cohort, String cohortName, Change change, Instant observedAt) {
        return of(cohort, cohortName, change, observedAt, null);
    }

    /** As above, with member properties to copy as traits (used on enters only). */
    public static Delta of(CohortRef cohort, String cohortName, Change change, Instant observedAt,
                           Map<String, Object> extraTraits) {
        return new Delta(cohort, cohortName, change.distinctId(), change.to().member(), change.to().version(),
                observedAt, change.to().userId(), change.previousName(), null,
                change.isEnter() ? extraTraits : null, change.to().anonymous(),
                change.from().member() == change.to().member());
    }

    /**
     * The distinct id, version and membership only (equal deltas still hash equal: they share these). The sender keys
     * maps by delta at every step of a batch, and the record's own hash walks every component, the extra traits'
     * map included: it was most of the sender's CPU per 1,000 deltas (8.3 ms before the steps, 15 ms with them).
     * A {@link String} caches its hash, so this costs a few multiplications.
     */
    @Override
    public int hashCode() {
        return (31 * distinctId.hashCode() + Long.hashCode(version)) * 31 + Boolean.hashCode(member);
    }
}
