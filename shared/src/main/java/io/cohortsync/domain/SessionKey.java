package io.cohortsync.domain;

import java.util.Objects;

/** One {@code members} export session of one cohort. */
public record SessionKey(CohortRef cohort, String sessionId) {
    public SessionKey {
        Objects.requireNonNull(cohort, "cohort");
        CohortRef.requireId(sessionId, "sessionId");
    }
}
