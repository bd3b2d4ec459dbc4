package io.cohortsync.domain;

import java.util.Objects;

/**
 * Identifies a Mixpanel cohort: all state is keyed by project id + cohort id, never by name,
 * because a cohort can be renamed in the Mixpanel UI while its id stays stable.
 */
public record CohortRef(String projectId, String cohortId) {
    public CohortRef {
        requireId(projectId, "projectId");
        requireId(cohortId, "cohortId");
    }

    static void requireId(String value, String field) {
        Objects.requireNonNull(value, field + " must not be null");
        if (value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
    }
}
