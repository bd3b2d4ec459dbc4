package io.cohortsync.send;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class VerdictTest {
    private static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
    private static final Duration NEVER_AFTER = Duration.ofSeconds(900);

    @Test
    void of_returnsSend_whenTableHoldsExactlyThisChange() {
        assertThat(Verdict.of(delta(true, 3, NOW), new Membership(true, 3), NOW, NEVER_AFTER)).isEqualTo(Verdict.SEND);
    }

    @Test
    void of_returnsStale_whenTableVersionIsHigher() {
        assertThat(Verdict.of(delta(true, 3, NOW), new Membership(true, 5), NOW, NEVER_AFTER)).isEqualTo(Verdict.STALE);
    }

    @Test
    void of_returnsStale_whenSameVersionButOtherMembership() {
        assertThat(Verdict.of(delta(true, 3, NOW), new Membership(false, 3), NOW, NEVER_AFTER)).isEqualTo(Verdict.STALE);
    }

    @Test
    void of_returnsNotYetCommitted_whenTableIsBehindAndDeltaIsRecent() {
        assertThat(Verdict.of(delta(true, 1, NOW.minusSeconds(900)), Membership.ABSENT, NOW, NEVER_AFTER))
                .isEqualTo(Verdict.NOT_YET_COMMITTED);
    }

    @Test
    void of_returnsNeverCommitted_whenTableIsBehindLongerThanTheLimit() {
        assertThat(Verdict.of(delta(false, 4, NOW.minusSeconds(901)), new Membership(true, 3), NOW, NEVER_AFTER))
                .isEqualTo(Verdict.NEVER_COMMITTED);
    }

    private static Delta delta(boolean member, long version, Instant observedAt) {
        return new Delta(new CohortRef("1", "2"), "c", "u", member, version, observedAt);
    }
}
