package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Delta's own hash: cheap, and consistent with the record's equals. */
class DeltaTest {
    private static final CohortRef COHORT = new CohortRef("p", "c");
    private static final Instant AT = Instant.parse("2026-12-01T10:00:00Z");

    @Test
    void equalDeltas_hashEqual_evenWithTraitsAndNames() {
        Delta a = new Delta(COHORT, "Power users", "u1", true, 3, AT, "crm-1", "Old", "tok",
                Map.of("plan", "pro", "seats", 4), false, false);
        Delta b = new Delta(new CohortRef("p", "c"), new String("Power users"), new String("u1"), true, 3,
                Instant.parse("2026-12-01T10:00:00Z"), "crm-1", "Old", "tok", Map.of("seats", 4, "plan", "pro"),
                false, false);

        assertThat(a).isEqualTo(b);
        assertThat(a.hashCode()).isEqualTo(b.hashCode());
    }

    @Test
    void deltasThatDifferOnlyOutsideTheHashedFields_areStillDistinctKeys() {
        Delta a = new Delta(COHORT, "Power users", "u1", true, 3, AT);
        Delta renamed = new Delta(COHORT, "Renamed", "u1", true, 3, AT);
        Delta otherCohort = new Delta(new CohortRef("p", "other"), "Power users", "u1", true, 3, AT);

        Set<Delta> keys = new HashSet<>(Set.of(a, renamed, otherCohort));

        assertThat(keys).hasSize(3).contains(a, renamed, otherCohort);
        assertThat(a.hashCode()).isNotEqualTo(new Delta(COHORT, "Power users", "u1", true, 4, AT).hashCode())
                .isNotEqualTo(new Delta(COHORT, "Power users", "u2", true, 3, AT).hashCode());
    }
}
