package io.cohortsync.segment;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MessageIdsTest {
    private static final String PREFIX = "Mixpanel - ";
    private static final Instant OBSERVED = Instant.parse("2026-11-28T11:00:00.123Z");
    private static final Delta DELTA = new Delta(new CohortRef("2195193", "1457721"), "Power users", "u-1001", true, 3,
            OBSERVED);

    @Test
    void of_returnsSameId_whenSameChangeObservedTwice() {
        // given the same change observed at two moments (a webhook retry after a crash)
        Delta again = new Delta(DELTA.cohort(), DELTA.cohortName(), DELTA.distinctId(), DELTA.member(), DELTA.version(),
                OBSERVED.plusSeconds(42));

        // when / then
        assertThat(MessageIds.of(again, PREFIX)).isEqualTo(MessageIds.of(DELTA, PREFIX));
    }

    @Test
    void of_returnsDifferentIds_whenAnyFieldDiffers() {
        // given the delta changed in each field in turn, and a different trait prefix
        List<String> ids = List.of(
                MessageIds.of(DELTA, PREFIX),
                MessageIds.of(new Delta(new CohortRef("2195194", "1457721"), "Power users", "u-1001", true, 3, OBSERVED), PREFIX),
                MessageIds.of(new Delta(new CohortRef("2195193", "1457722"), "Power users", "u-1001", true, 3, OBSERVED), PREFIX),
                MessageIds.of(new Delta(DELTA.cohort(), "Power users!", "u-1001", true, 3, OBSERVED), PREFIX),
                MessageIds.of(new Delta(DELTA.cohort(), "Power users", "u-1002", true, 3, OBSERVED), PREFIX),
                MessageIds.of(new Delta(DELTA.cohort(), "Power users", "u-1001", false, 3, OBSERVED), PREFIX),
                MessageIds.of(new Delta(DELTA.cohort(), "Power users", "u-1001", true, 4, OBSERVED), PREFIX),
                MessageIds.of(DELTA, "Segment - "));

        // then all differ
        assertThat(ids).doesNotHaveDuplicates();
    }

    @Test
    void of_returnsDifferentIds_whenFieldBoundariesShift() {
        // given field tuples whose plain concatenations are equal
        Delta a = new Delta(new CohortRef("12", "3"), "ab", "c", true, 1, OBSERVED);
        Delta b = new Delta(new CohortRef("1", "23"), "a", "bc", true, 1, OBSERVED);
        Delta c = new Delta(new CohortRef("1|2", "3"), "x", "y", true, 1, OBSERVED);
        Delta d = new Delta(new CohortRef("1", "2|3"), "x", "y", true, 1, OBSERVED);

        // when / then
        assertThat(List.of(MessageIds.of(a, ""), MessageIds.of(b, ""), MessageIds.of(c, ""), MessageIds.of(d, "")))
                .doesNotHaveDuplicates();
    }

    @Test
    void of_returnsNamespacedHexIdWithinSegmentLimit_whenAnyDelta() {
        // when
        String id = MessageIds.of(DELTA, PREFIX);

        // then
        assertThat(id).startsWith("cohort-sync-").matches("cohort-sync-[A-Za-z0-9_-]{43}").hasSize(55);
    }
}
