package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.SessionKey;

/**
 * Key layout of the single table (attributes {@code pk}, {@code sk}; TTL on {@code expiresAt}).
 * <ul>
 *   <li>membership: {@code pk = M#<project>#<cohort>}, {@code sk = <distinct id>}, {@code m} (bool), {@code v} (version),
 *       {@code u} (mapped Segment user id, only when it differs from the distinct id)</li>
 *   <li>cohort: {@code pk = C#<project>#<cohort>}, {@code sk = META}, {@code name} (last name seen, for renames)</li>
 *   <li>session page receipt: {@code pk = S#<project>#<cohort>#<session>}, {@code sk = P#<page>}</li>
 *   <li>session page ids: same pk, {@code sk = I#<page>#<chunk>}, {@code ids} (string set)</li>
 *   <li>session outcome: same pk, {@code sk = OUTCOME}</li>
 * </ul>
 * Key parts are escaped so a {@code #} inside an id can never make two keys collide.
 */
public final class Keys {
    public static final String PK = "pk";
    public static final String SK = "sk";
    public static final String TTL = "expiresAt";

    private Keys() {
    }

    public static String membershipPk(CohortRef cohort) {
        return "M#" + escape(cohort.projectId()) + "#" + escape(cohort.cohortId());
    }

    public static String cohortPk(CohortRef cohort) {
        return "C#" + escape(cohort.projectId()) + "#" + escape(cohort.cohortId());
    }

    static String sessionPk(SessionKey session) {
        return "S#" + escape(session.cohort().projectId()) + "#" + escape(session.cohort().cohortId()) + "#"
                + escape(session.sessionId());
    }

    static String escape(String part) {
        return part.replace("%", "%25").replace("#", "%23");
    }
}
