package io.cohortsync.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SegmentMessagesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String PREFIX = "Mixpanel - ";
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Instant OBSERVED = Instant.parse("2026-11-28T11:00:00.123Z");
    private static final Delta ENTER = Delta.of(COHORT, "Power users", new Change("u-1001", Membership.ABSENT,
            new Membership(true, 1)), OBSERVED);
    private static final Delta EXIT = Delta.of(COHORT, "Power users", new Change("u-1001", new Membership(true, 1),
            new Membership(false, 2)), OBSERVED);

    private static SegmentMessages build(SegmentCalls calls) {
        return new SegmentMessages(calls, PREFIX, "123456789012/cohort-sync");
    }

    private static JsonNode json(SegmentMessage m) throws Exception {
        return MAPPER.readTree(m.encode().json());
    }

    @Test
    void of_returnsTheIdentifyAlone_whenIdentifyOnly() throws Exception {
        // when
        List<SegmentMessage> messages = build(SegmentCalls.IDENTIFY).of(ENTER);

        // then exactly today's identify, with today's id
        assertThat(messages).singleElement().isInstanceOf(IdentifyMessage.class);
        assertThat(json(messages.get(0))).isEqualTo(json(IdentifyMessage.of(ENTER, PREFIX, "123456789012/cohort-sync")));
    }

    @Test
    void of_returnsIdentifyThenAudienceEntered_withOwnIds_whenIdentifyAndTrack() throws Exception {
        // when
        List<SegmentMessage> messages = build(SegmentCalls.IDENTIFY_AND_TRACK).of(ENTER);

        // then
        assertThat(messages).hasSize(2);
        assertThat(json(messages.get(0)).path("type").asText()).isEqualTo("identify");
        JsonNode track = json(messages.get(1));
        assertThat(track).isEqualTo(MAPPER.readTree("""
                {"type":"track","userId":"u-1001","event":"Audience Entered",
                 "properties":{"audience_key":"Mixpanel - Power users","mixpanel_cohort_id":"1457721",
                               "mixpanel_cohort_name":"Power users","mixpanel_project_id":"2195193"},
                 "messageId":"%s","timestamp":"2026-11-28T11:00:00.123Z"}"""
                .formatted(messages.get(1).messageId())));
        assertThat(messages).extracting(SegmentMessage::messageId).doesNotHaveDuplicates()
                .allSatisfy(id -> assertThat(id).matches("cohort-sync-[A-Za-z0-9_-]{43}"));
    }

    @Test
    void of_returnsAudienceExited_whenAnExitIsTrackOnly() throws Exception {
        // when
        List<SegmentMessage> messages = build(SegmentCalls.TRACK).of(EXIT);

        // then
        assertThat(messages).singleElement().isInstanceOf(TrackMessage.class);
        assertThat(json(messages.get(0)).path("event").asText()).isEqualTo("Audience Exited");
        assertThat(json(messages.get(0)).has("traits")).isFalse();
    }

    @Test
    void of_returnsTheSameIds_whenTheSameChangeIsObservedAgain() {
        // given the change observed again later (a webhook retry after a crash): one change
        Delta again = Delta.of(COHORT, "Power users", new Change("u-1001", Membership.ABSENT, new Membership(true, 1)),
                OBSERVED.plusSeconds(42));

        // when / then: per call type, the same id every time
        assertThat(build(SegmentCalls.IDENTIFY_AND_TRACK).of(again)).extracting(SegmentMessage::messageId)
                .containsExactlyElementsOf(build(SegmentCalls.IDENTIFY_AND_TRACK).of(ENTER).stream()
                        .map(SegmentMessage::messageId).toList());
        // and the track event's id does not depend on whether the identify is sent too
        assertThat(build(SegmentCalls.TRACK).of(ENTER).get(0).messageId())
                .isEqualTo(build(SegmentCalls.IDENTIFY_AND_TRACK).of(ENTER).get(1).messageId());
    }

    @Test
    void trackIds_differPerChange_andFromEveryIdentifyId() {
        // given the enter, the exit, the enter again, a backfill's re-send, in another namespace
        Delta reEnter = Delta.of(COHORT, "Power users", new Change("u-1001", new Membership(false, 2),
                new Membership(true, 3)), OBSERVED);
        Delta resent = ENTER.withResend("backfill-2026-11-29T10:00:00Z");
        List<String> ids = new ArrayList<>();
        for (Delta d : List.of(ENTER, EXIT, reEnter, resent)) {
            build(SegmentCalls.IDENTIFY_AND_TRACK).of(d).forEach(m -> ids.add(m.messageId()));
        }
        ids.add(new SegmentMessages(SegmentCalls.TRACK, PREFIX, "other/stack").of(ENTER).get(0).messageId());

        // then no two share an id
        assertThat(ids).hasSize(9).doesNotHaveDuplicates();
    }

    @Test
    void of_sendsNoEvent_forARenamesReannouncement_butTheIdentifyStill() throws Exception {
        // given a member re-announced under the cohort's new name: membership unchanged
        Membership announced = new Membership(true, 4, null, 1, 0);
        Delta rename = Delta.of(COHORT, "Power users (new)", new Change("u-1001", announced,
                announced.next(true).stamped(2, 0), "Power users"), OBSERVED);
        assertThat(rename.reannounced()).isTrue();

        // when
        List<SegmentMessage> both = build(SegmentCalls.IDENTIFY_AND_TRACK).of(rename);
        List<SegmentMessage> trackOnly = build(SegmentCalls.TRACK).of(rename);

        // then the identify moves the trait; no Entered/Exited event: nobody entered or left
        assertThat(both).singleElement().isInstanceOf(IdentifyMessage.class);
        assertThat(json(both.get(0)).path("traits")).isEqualTo(MAPPER.readTree(
                "{\"Mixpanel - Power users\":false,\"Mixpanel - Power users (new)\":true}"));
        assertThat(trackOnly).isEmpty();
    }

    @Test
    void of_sendsTheEvent_whenAnExitCarriesTheNameItWasAnnouncedUnder() throws Exception {
        // given an exit of a member last announced under the old name (a real change, old trait cleared too)
        Membership announced = new Membership(true, 4, null, 1, 0);
        Delta exit = Delta.of(COHORT, "Power users (new)", new Change("u-1001", announced,
                announced.next(false).stamped(2, 0), "Power users"), OBSERVED);

        // when
        List<SegmentMessage> messages = build(SegmentCalls.IDENTIFY_AND_TRACK).of(exit);

        // then
        assertThat(messages).hasSize(2);
        JsonNode track = json(messages.get(1));
        assertThat(track.path("event").asText()).isEqualTo("Audience Exited");
        assertThat(track.path("properties").path("audience_key").asText()).isEqualTo("Mixpanel - Power users (new)");
    }

    @Test
    void clearing_isAnIdentify_andNothingWhenTrackOnly() throws Exception {
        // given a stale renamed delta whose old name's false is still owed
        Delta renamed = new Delta(COHORT, "New", "u-1001", true, 5, OBSERVED, null, "Old", null);

        // when / then
        assertThat(build(SegmentCalls.IDENTIFY_AND_TRACK).clearing(renamed)).singleElement().satisfies(m -> {
            assertThat(m).isInstanceOf(IdentifyMessage.class);
            assertThat(m.messageId()).isEqualTo(MessageIds.clearing(renamed, PREFIX, "123456789012/cohort-sync"));
        });
        assertThat(build(SegmentCalls.TRACK).clearing(renamed)).isEmpty();
    }

    @Test
    void anonymousMembers_getAnonymousIdAndNoUserId_inEveryCall_withIdsOfTheirOwn() throws Exception {
        // given an anonymous member's enter (no user-id property, MISSING_USER_ID=anonymous)
        Delta anonymous = Delta.of(COHORT, "Power users", new Change("mp-distinct-7", Membership.ABSENT,
                Membership.ABSENT.next(true, null, true)), OBSERVED);
        Delta named = Delta.of(COHORT, "Power users", new Change("mp-distinct-7", Membership.ABSENT,
                Membership.ABSENT.next(true, null, false)), OBSERVED);

        // when
        List<SegmentMessage> messages = build(SegmentCalls.IDENTIFY_AND_TRACK).of(anonymous);

        // then
        for (SegmentMessage m : messages) {
            JsonNode json = json(m);
            assertThat(json.path("anonymousId").asText()).isEqualTo("mp-distinct-7");
            assertThat(json.has("userId")).isFalse();
        }
        assertThat(messages).extracting(SegmentMessage::messageId).doesNotContainAnyElementsOf(
                build(SegmentCalls.IDENTIFY_AND_TRACK).of(named).stream().map(SegmentMessage::messageId).toList());
    }

    @Test
    void trackEvents_leaveOutTheProjectId_whenMixpanelSentNone() throws Exception {
        // given a cohort keyed under the placeholder project
        Delta d = new Delta(new CohortRef(CohortRef.UNKNOWN_PROJECT, "42"), "Trial", "u-1", true, 1, OBSERVED);

        // when
        JsonNode properties = json(build(SegmentCalls.TRACK).of(d).get(0)).path("properties");

        // then
        assertThat(properties.has("mixpanel_project_id")).isFalse();
        assertThat(properties.path("mixpanel_cohort_id").asText()).isEqualTo("42");
    }

    @Test
    void messages_refuseNoIdOrBothIds() {
        assertThatThrownBy(() -> new TrackMessage(null, null, TrackMessage.ENTERED, java.util.Map.of(), "cohort-sync-x",
                OBSERVED)).hasMessageContaining("exactly one of userId and anonymousId");
        assertThatThrownBy(() -> new IdentifyMessage("u", "a", java.util.Map.of(), "cohort-sync-x", OBSERVED))
                .hasMessageContaining("exactly one of userId and anonymousId");
        assertThatThrownBy(() -> new IdentifyMessage(null, "", java.util.Map.of(), "cohort-sync-x", OBSERVED))
                .hasMessageContaining("anonymousId must not be empty");
    }

    @Test
    void batcher_keepsSegmentsLimits_whenIdentifiesAndTrackEventsAreMixed() {
        // given 10,000 changes of users with 30-character email ids, each an identify and a track event
        SegmentMessages build = build(SegmentCalls.IDENTIFY_AND_TRACK);
        List<EncodedMessage> messages = IntStream.range(0, 10_000).mapToObj(i -> new Delta(COHORT, "Power users (30d)",
                        "user" + (100_000 + i) + "@example-mail.com", i % 3 != 0, 1 + i % 5, OBSERVED))
                .flatMap(d -> build.of(d).stream()).map(SegmentMessage::encode).toList();

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then every request within 500 KB and 2,500 messages, in order, nothing lost
        assertThat(packing.oversize()).isEmpty();
        assertThat(packing.batches()).allSatisfy(b -> {
            assertThat(b.bodyBytes()).isLessThanOrEqualTo(SegmentBatcher.MAX_REQUEST_BYTES);
            assertThat(b.body(OBSERVED)).hasSize(b.bodyBytes());
            assertThat(b.size()).isLessThanOrEqualTo(SegmentBatcher.MAX_MESSAGES);
        });
        assertThat(packing.batches().stream().flatMap(b -> b.messages().stream()).toList()).isEqualTo(messages);
        int perRequest = packing.batches().getFirst().size();
        int trackBytes = messages.get(1).size();
        System.out.printf("identify+track: %d messages per full request (identify %d B, track %d B)%n", perRequest,
                messages.get(0).size(), trackBytes);
        assertThat(trackBytes).isLessThan(SegmentBatcher.MAX_MESSAGE_BYTES);
        assertThat(perRequest).isGreaterThan(1_000);
    }

    @Test
    void aTrackEvent_ofTheLongestCohortName_fitsSegmentsMessageLimit() {
        // given a cohort name at the parser's limit, in 3-byte characters
        Delta d = new Delta(COHORT, "€".repeat(1000), "u".repeat(1024), true, 1, OBSERVED);

        // when
        EncodedMessage track = TrackMessage.of(d, PREFIX, "n").encode();

        // then
        assertThat(track.size()).isLessThan(SegmentBatcher.MAX_MESSAGE_BYTES);
        assertThat(new String(track.json(), StandardCharsets.UTF_8)).contains("\"event\":\"Audience Entered\"");
    }

    @Test
    void segmentCalls_parseTheThreeSettings_andRefuseAnythingElse() {
        assertThat(SegmentCalls.parse(null)).isEqualTo(SegmentCalls.IDENTIFY);
        assertThat(SegmentCalls.parse("")).isEqualTo(SegmentCalls.IDENTIFY);
        assertThat(SegmentCalls.parse("identify")).isEqualTo(SegmentCalls.IDENTIFY);
        assertThat(SegmentCalls.parse("identify,track")).isEqualTo(SegmentCalls.IDENTIFY_AND_TRACK);
        assertThat(SegmentCalls.parse(" Track , identify ")).isEqualTo(SegmentCalls.IDENTIFY_AND_TRACK);
        assertThat(SegmentCalls.parse("track")).isEqualTo(SegmentCalls.TRACK);
        for (SegmentCalls c : SegmentCalls.values()) {
            assertThat(SegmentCalls.parse(c.wireName())).isEqualTo(c);
        }
        assertThatThrownBy(() -> SegmentCalls.parse("identify,page")).hasMessageContaining("SEGMENT_CALLS");
        assertThatThrownBy(() -> SegmentCalls.parse("identify,")).hasMessageContaining("SEGMENT_CALLS");
    }
}
