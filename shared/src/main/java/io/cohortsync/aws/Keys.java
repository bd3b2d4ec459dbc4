package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.Shards;

/**
 * Key layout of the single table (attributes {@code pk}, {@code sk}; TTL on {@code expiresAt}).
 * <ul>
 *   <li>membership: {@code pk = M#<project>#<cohort>#<shard>} (shard = two hex digits, {@link io.cohortsync.domain.Shards}),
 *       {@code sk = <distinct id>}, {@code m} (bool), {@code v} (version), {@code n} (name version), {@code e}
 *       (listed epoch), {@code u} (mapped Segment user id, only when it differs from the distinct id), {@code a}
 *       (true when Segment knows the user by {@code anonymousId} = the distinct id, {@code MISSING_USER_ID=anonymous};
 *       never with {@code u}), {@code expiresAt} (exited members only)</li>
 *   <li>membership of earlier versions (migrated by the reconciler): {@code pk = M#<project>#<cohort>}</li>
 *   <li>cohort: {@code pk = C#<project>#<cohort>}, {@code sk = META}: name, name versions, epoch, reconcile state</li>
 *   <li>session page receipt: {@code pk = S#<project>#<cohort>#<session>}, {@code sk = P#<page>}</li>
 *   <li>session page ids: same pk, {@code sk = I#<shard>#<page>#<chunk>}, {@code ids} (string set)</li>
 *   <li>session outcome: same pk, {@code sk = OUTCOME}</li>
 *   <li>reconcile summary and checkpoints: {@code pk = R#<project>#<cohort>}, {@code sk = <kind>#<generation>}
 *       and {@code <kind>#<generation>#<job kind>#<shard>}</li>
 * </ul>
 * (with {@code <type>!<connection>} instead of {@code <type>} for a non-default connection). Key parts
 * are escaped so a {@code #} inside an id can never make two keys collide.
 */
public final class Keys {
    public static final String PK = "pk";
    public static final String SK = "sk";
    public static final String TTL = "expiresAt";

    private Keys() {
    }

    /** The membership partition of one shard of a cohort. */
    public static String membershipPk(CohortRef cohort, int shard) {
        return key("M", cohort) + "#" + shardKey(shard);
    }

    /** The membership partition of a user. */
    public static String membershipPk(CohortRef cohort, String distinctId) {
        return membershipPk(cohort, Shards.of(distinctId));
    }

    /** The single membership partition earlier versions used for a whole cohort. */
    public static String legacyMembershipPk(CohortRef cohort) {
        return key("M", cohort);
    }

    /** Two hex digits: shard keys sort in shard order and never contain '#'. */
    static String shardKey(int shard) {
        return String.format("%02x", shard);
    }

    static String reconcilePk(CohortRef cohort) {
        return key("R", cohort);
    }

    public static String cohortPk(CohortRef cohort) {
        return key("C", cohort);
    }

    static String historyPk(CohortRef cohort) {
        return key("H", cohort);
    }

    static String sessionPk(SessionKey session) {
        return key("S", session.cohort()) + "#" + escape(session.sessionId());
    }

    /**
     * {@code <type>#<project>#<cohort>} for the default connection (the layout before connections
     * existed), {@code <type>!<connection>#<project>#<cohort>} for others: '!' never follows the type
     * of a default key, so connections cannot collide with each other or with the default.
     */
    private static String key(String type, CohortRef cohort) {
        String prefix = cohort.isDefaultConnection() ? type : type + "!" + escape(cohort.connection());
        return prefix + "#" + escape(cohort.projectId()) + "#" + escape(cohort.cohortId());
    }

    static String escape(String part) {
        return part.replace("%", "%25").replace("#", "%23");
    }
}
