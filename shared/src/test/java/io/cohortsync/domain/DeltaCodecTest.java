package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeltaCodecTest {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Instant NOW = Instant.parse("2026-11-28T11:00:00.123Z");

    @Test
    void encode_roundTripsEveryField_whenDecoded() {
        List<Delta> deltas = List.of(new Delta(COHORT, "Power users", "u-1", true, 3, NOW),
                new Delta(COHORT, "Power users", "quo\"te\\", false, 9, NOW));
        List<String> bodies = DeltaCodec.encode(deltas, 250_000);
        assertThat(bodies).hasSize(1);
        assertThat(DeltaCodec.decode(bodies.get(0))).isEqualTo(deltas);
    }

    @Test
    void encode_fitsAThousandChangePageInOneSmallMessage_whenIdsAreEmails() {
        List<Delta> deltas = IntStream.range(0, 1000)
                .mapToObj(i -> new Delta(COHORT, "Power users", "user" + i + "@example.com", true, 1, NOW)).toList();
        List<String> bodies = DeltaCodec.encode(deltas, 250_000);
        assertThat(bodies).hasSize(1);
        assertThat(bodies.get(0).getBytes(StandardCharsets.UTF_8).length).isLessThan(64 * 1024);
    }

    @Test
    void encode_splitsUnderTheByteLimit_whenIdsAreLong() {
        List<Delta> deltas = IntStream.range(0, 1000)
                .mapToObj(i -> new Delta(COHORT, "c", "\"".repeat(500) + i, true, 1, NOW)).toList();
        List<String> bodies = DeltaCodec.encode(deltas, 250_000);
        assertThat(bodies).hasSizeGreaterThan(1);
        assertThat(bodies).allSatisfy(b -> assertThat(b.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(250_000));
        assertThat(bodies.stream().flatMap(b -> DeltaCodec.decode(b).stream()).toList()).isEqualTo(deltas);
    }

    @Test
    void encode_roundTripsOptionalParts_whenRenameMappedOrResent() {
        List<Delta> deltas = List.of(
                new Delta(COHORT, "New", "u-1", true, 4, NOW, "ada@example.com", "Old", null),
                new Delta(COHORT, "New", "u-2", true, 4, NOW, null, "Old", null),
                new Delta(COHORT, "New", "u-3", true, 2, NOW, null, null, "backfill-7"));
        List<String> bodies = DeltaCodec.encode(deltas, 250_000);
        assertThat(bodies).hasSize(2); // rename and backfill headers differ
        assertThat(bodies.stream().flatMap(b -> DeltaCodec.decode(b).stream()).toList()).isEqualTo(deltas);
        assertThat(bodies.get(1)).doesNotContain("userId").doesNotContain("previousName");
    }

    @Test
    void encode_groupsByCohort_whenDeltasSpanCohorts() {
        CohortRef other = new CohortRef("2195193", "99");
        List<Delta> deltas = List.of(new Delta(COHORT, "a", "u", true, 1, NOW), new Delta(other, "b", "u", true, 1, NOW));
        assertThat(DeltaCodec.encode(deltas, 250_000)).hasSize(2);
    }

    @Test
    void decode_rejectsAsMalformed_whenNotADeltaMessage() {
        assertThatThrownBy(() -> DeltaCodec.decode("hello")).isInstanceOf(MalformedDeltaException.class);
        assertThatThrownBy(() -> DeltaCodec.decode("{\"schema\":\"other\"}")).isInstanceOf(MalformedDeltaException.class);
        assertThatThrownBy(() -> DeltaCodec.decode("{\"schema\":\"cohort-sync.deltas/1\",\"projectId\":\"1\","
                + "\"cohortId\":\"2\",\"cohortName\":\"n\",\"observedAt\":\"yesterday\",\"changes\":[]}"))
                .isInstanceOf(MalformedDeltaException.class);
        assertThatThrownBy(() -> DeltaCodec.decode("{\"schema\":\"cohort-sync.deltas/1\",\"projectId\":\"1\","
                + "\"cohortId\":\"2\",\"cohortName\":\"n\",\"observedAt\":\"2026-11-28T11:00:00Z\","
                + "\"changes\":[{\"id\":\"u\",\"member\":\"yes\",\"version\":1}]}"))
                .isInstanceOf(MalformedDeltaException.class);
    }
}
