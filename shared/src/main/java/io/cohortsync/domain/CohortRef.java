package io.cohortsync.domain;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Identifies a Mixpanel cohort as one connection syncs it: all state is keyed by connection + project
 * id + cohort id, never by name, because a cohort can be renamed in the Mixpanel UI while its id
 * stays stable. Two connections (two webhook URLs, e.g. two Segment sources) never share state.
 *
 * @param connection {@link #DEFAULT_CONNECTION} for {@code POST /mixpanel}, else the name in
 *                   {@code POST /mixpanel/{connection}}
 */
public record CohortRef(String connection, String projectId, String cohortId) {
    public static final String DEFAULT_CONNECTION = "default";
    /**
     * The project of cohorts whose calls carry no {@code mixpanel_project_id} (public receivers' fixtures
     * omit it; the cohort id alone keys state). Mixpanel project ids are numeric, so this never names a
     * real project. Operators address such cohorts with it ({@code GET /mixpanel/status?project=unknown-project},
     * {@code backfill --project unknown-project}).
     */
    public static final String UNKNOWN_PROJECT = "unknown-project";
    /** Connection names: short, URL- and key-safe. */
    public static final Pattern CONNECTION_NAME = Pattern.compile("[A-Za-z0-9_-]{1,40}");

    public CohortRef {
        Objects.requireNonNull(connection, "connection");
        if (!CONNECTION_NAME.matcher(connection).matches()) {
            throw new IllegalArgumentException("connection must match " + CONNECTION_NAME.pattern());
        }
        requireId(projectId, "projectId");
        requireId(cohortId, "cohortId");
    }

    /** A cohort of the default connection. */
    public CohortRef(String projectId, String cohortId) {
        this(DEFAULT_CONNECTION, projectId, cohortId);
    }

    public boolean isDefaultConnection() {
        return DEFAULT_CONNECTION.equals(connection);
    }

    static void requireId(String value, String field) {
        Objects.requireNonNull(value, field + " must not be null");
        if (value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
    }
}
