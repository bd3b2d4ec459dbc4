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

    @Test
    void encode_roundTripsAnonymousAndReannounced_andOldMessagesReadAsNeither() {
        // given an anonymous enter and a rename's re-announcement
        Delta anonymous = Delta.of(COHORT, "Power users", new Change("mp-7", Membership.ABSENT,
                Membership.ABSENT.next(true, null, true)), NOW);
        Membership member = new Membership(true, 2, "u@x.org", 1, 0);
        Delta reannounced = Delta.of(COHORT, "Power users", new Change("mp-8", member, member.next(true).stamped(2, 0),
                "Old"), NOW);
        assertThat(anonymous.anonymous()).isTrue();
        assertThat(anonymous.reannounced()).isFalse();
        assertThat(reannounced.reannounced()).isTrue();

        // when
        List<String> bodies = DeltaCodec.encode(List.of(anonymous, reannounced), 250_000);

        // then
        assertThat(bodies.stream().flatMap(b -> DeltaCodec.decode(b).stream()).toList())
                .containsExactly(anonymous, reannounced);
        assertThat(String.join("", bodies)).contains("\"anonymous\":true").contains("\"reannounced\":true");
        // a message written before the flags existed: neither
        Delta old = DeltaCodec.decode("{\"schema\":\"cohort-sync.deltas/1\",\"projectId\":\"p\",\"cohortId\":\"c\","
                + "\"cohortName\":\"n\",\"observedAt\":\"2026-11-28T11:00:00Z\",\"changes\":[{\"id\":\"u\","
                + "\"member\":true,\"version\":1}]}").get(0);
        assertThat(old.anonymous()).isFalse();
        assertThat(old.reannounced()).isFalse();
        assertThat(old.segmentUserId()).isEqualTo("u");
        assertThat(old.anonymousId()).isNull();
    }

    @Test
    void decode_rejectsAnAnonymousChangeWithAUserId_orANonBooleanFlag() {
        String head = "{\"schema\":\"cohort-sync.deltas/1\",\"projectId\":\"p\",\"cohortId\":\"c\","
                + "\"cohortName\":\"n\",\"observedAt\":\"2026-11-28T11:00:00Z\",\"changes\":[";
        assertThatThrownBy(() -> DeltaCodec.decode(head + "{\"id\":\"u\",\"member\":true,\"version\":1,"
                + "\"userId\":\"x\",\"anonymous\":true}]}")).isInstanceOf(MalformedDeltaException.class);
        assertThatThrownBy(() -> DeltaCodec.decode(head + "{\"id\":\"u\",\"member\":true,\"version\":1,"
                + "\"anonymous\":\"yes\"}]}")).isInstanceOf(MalformedDeltaException.class)
                .hasMessageContaining("'anonymous' must be a boolean");
    }

    @Test
    void anonymousDeltas_stillFitAThousandChangePageInOneMessage() {
        List<Delta> deltas = IntStream.range(0, 1000).mapToObj(i -> Delta.of(COHORT, "Power users",
                new Change("device-" + i + "-0123456789abcdef", Membership.ABSENT,
                        Membership.ABSENT.next(true, null, true)), NOW)).toList();
        List<String> bodies = DeltaCodec.encode(deltas, 250_000);
        assertThat(bodies).hasSize(1);
        assertThat(bodies.get(0).getBytes(StandardCharsets.UTF_8).length).isLessThan(250_000);
        assertThat(DeltaCodec.decode(bodies.get(0))).isEqualTo(deltas);
    }

    @Test
    void current_resendsTheStoredStateWithItsIdentity_forABackfill() {
        // given stored members: anonymous, mapped, plain
        Delta anonymous = Delta.current(COHORT, "Power users", "mp-7", new Membership(true, 3, null, 2, 0, true), NOW,
                "backfill-1");
        Delta mapped = Delta.current(COHORT, "Power users", "mp-8", new Membership(false, 4, "u@x.org", 2, 0), NOW,
                "backfill-1");

        // then each keeps its identity, version and membership, carries the token, and is not a re-announcement
        assertThat(anonymous.anonymousId()).isEqualTo("mp-7");
        assertThat(anonymous.segmentUserId()).isNull();
        assertThat(anonymous.membership().sameState(new Membership(true, 3))).isTrue();
        assertThat(mapped.segmentUserId()).isEqualTo("u@x.org");
        assertThat(mapped.member()).isFalse();
        assertThat(List.of(anonymous, mapped)).allSatisfy(d -> {
            assertThat(d.resend()).isEqualTo("backfill-1");
            assertThat(d.reannounced()).isFalse();
            assertThat(d.previousName()).isNull();
        });
    }
}
