package io.cohortsync.reconcile;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SilenceCheckTest {
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    private static final Duration THRESHOLD = Duration.ofHours(72);

    private final Map<CohortRef, CohortState> cohorts = new LinkedHashMap<>();
    private final SilenceCheck check = new SilenceCheck(each -> cohorts.forEach(each), THRESHOLD,
            Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void aRegularCohortSilentLongerThanTheThreshold_isSilent_withHowLongAndItsLastAction() {
        // given a cohort that synced for a week, last 73 h ago, and one last seen 71 h ago
        put("1", activity(NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofHours(73)), "members", 150), null);
        put("2", activity(NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofHours(71)), "add_members", 150), null);
        // when
        SilenceCheck.Report report = check.run();
        // then only the first is silent
        assertThat(report.cohorts()).isEqualTo(2);
        assertThat(report.watched()).isEqualTo(2);
        assertThat(report.silent()).singleElement().satisfies(s -> {
            assertThat(s.cohort().cohortId()).isEqualTo("1");
            assertThat(s.name()).isEqualTo("cohort 1");
            assertThat(s.silentFor()).isEqualTo(Duration.ofHours(73));
            assertThat(s.lastAction()).isEqualTo("members");
        });
    }

    @Test
    void retiredOrRetiringCohorts_andCohortsSeenOnce_areNeverSilent() {
        // given three cohorts silent for weeks: retired, being retired, and one that Mixpanel called once
        Instant old = NOW.minus(Duration.ofDays(30));
        put("retired", activity(old, old, "members", 40), old.plusSeconds(60));
        cohorts.put(ref("retiring"), new CohortState("cohort retiring", 1, Map.of(), 3,
                CohortState.RETIRE_SESSION_PREFIX + "x", true, false, activity(old, old, "members", 40), null));
        put("once", activity(old, old, "add_members", 1), null);
        put("no record", null, null);
        // when
        SilenceCheck.Report report = check.run();
        // then
        assertThat(report.silent()).isEmpty();
        assertThat(report.cohorts()).isEqualTo(4);
        assertThat(report.retired()).isEqualTo(2);
        assertThat(report.watched()).isZero();
    }

    @Test
    void theCheckMessage_isToldApartFromJobs() {
        assertThat(SilenceCheck.isCheckMessage(SilenceCheck.MESSAGE)).isTrue();
        assertThat(SilenceCheck.isCheckMessage("{ \"schema\": \"cohort-sync.silence-check/1\" }\n")).isTrue();
        assertThat(SilenceCheck.isCheckMessage("{\"schema\":\"cohort-sync.reconcile/1\"}")).isFalse();
        assertThat(SilenceCheck.isCheckMessage(null)).isFalse();
        assertThatThrownBy(() -> new SilenceCheck(each -> { }, Duration.ZERO, Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private void put(String id, CohortState.Activity activity, Instant retiredAt) {
        cohorts.put(ref(id), CohortState.first("cohort " + id).with(activity, retiredAt));
    }

    private static CohortRef ref(String id) {
        return new CohortRef("2195193", id);
    }

    private static CohortState.Activity activity(Instant first, Instant last, String action, long syncs) {
        return new CohortState.Activity(first, last, action, syncs);
    }
}
