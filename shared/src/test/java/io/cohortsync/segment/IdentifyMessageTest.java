package io.cohortsync.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class IdentifyMessageTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");

    @Test
    void encode_producesSegmentIdentify_whenEnterDelta() throws Exception {
        // given
        Delta delta = new Delta(COHORT, "Power users (30d)", "u-1001", true, 3,
                Instant.parse("2026-11-28T11:00:00.123456789Z"));

        // when
        EncodedMessage encoded = IdentifyMessage.of(delta, "Mixpanel - ").encode();

        // then
        JsonNode json = MAPPER.readTree(encoded.json());
        assertThat(json).isEqualTo(MAPPER.readTree("""
                {"type":"identify","userId":"u-1001","traits":{"Mixpanel - Power users (30d)":true},
                 "messageId":"%s","timestamp":"2026-11-28T11:00:00.123Z"}"""
                .formatted(MessageIds.of(delta, "Mixpanel - "))));
        assertThat(encoded.messageId()).isEqualTo(json.get("messageId").asText());
        assertThat(encoded.size()).isEqualTo(encoded.jsonText().getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void encode_setsTraitFalse_whenExitDelta() throws Exception {
        // given
        Delta delta = new Delta(COHORT, "Churn risk", "u-1001", false, 4, Instant.parse("2026-11-28T11:00:00Z"));

        // when
        JsonNode json = MAPPER.readTree(IdentifyMessage.of(delta, "Mixpanel - ").encode().json());

        // then
        assertThat(json.path("traits").path("Mixpanel - Churn risk").isBoolean()).isTrue();
        assertThat(json.path("traits").path("Mixpanel - Churn risk").booleanValue()).isFalse();
        assertThat(json.path("timestamp").asText()).isEqualTo("2026-11-28T11:00:00.000Z");
    }

    @Test
    void encode_clearsOldTraitAndSetsNew_whenRenameDelta() throws Exception {
        Delta rename = new Delta(COHORT, "New name", "u-1001", true, 5, Instant.parse("2026-11-28T11:00:00Z"),
                null, "Old name", null);
        JsonNode json = MAPPER.readTree(IdentifyMessage.of(rename, "Mixpanel - ").encode().json());
        assertThat(json.get("traits")).isEqualTo(MAPPER.readTree(
                "{\"Mixpanel - Old name\":false,\"Mixpanel - New name\":true}"));
    }

    @Test
    void encode_sendsToMappedUserId_andIdsDifferFromUnmapped_whenIdentityMapped() throws Exception {
        Instant at = Instant.parse("2026-11-28T11:00:00Z");
        Delta plain = new Delta(COHORT, "C", "u-1001", true, 1, at);
        Delta mapped = new Delta(COHORT, "C", "u-1001", true, 1, at, "ada@example.com", null, null);
        JsonNode json = MAPPER.readTree(IdentifyMessage.of(mapped, "Mixpanel - ").encode().json());
        assertThat(json.get("userId").asText()).isEqualTo("ada@example.com");
        assertThat(MessageIds.of(mapped, "Mixpanel - ")).isNotEqualTo(MessageIds.of(plain, "Mixpanel - "));
        assertThat(MessageIds.of(plain.withResend("backfill-1"), "Mixpanel - "))
                .isNotEqualTo(MessageIds.of(plain, "Mixpanel - "))
                .isEqualTo(MessageIds.of(plain.withResend("backfill-1"), "Mixpanel - "));
    }

    @Test
    void toString_omitsUserId_whenPrinted() {
        // given
        IdentifyMessage message = IdentifyMessage.of(new Delta(COHORT, "c", "alice@example.com", true, 1, Instant.EPOCH),
                "Mixpanel - ");

        // when / then
        assertThat(message.toString()).doesNotContain("alice");
        assertThat(message.encode().toString()).doesNotContain("alice");
    }

    @Test
    void pack_fits2000TypicalIdentifiesInOneRequest_whenIdsAreEmails() {
        // given 2,000 identifies of a typical size: 30-character email distinct ids, a 17-character cohort name
        List<EncodedMessage> messages = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            String email = "first.last%05d@example-mail.com".formatted(i);
            messages.add(IdentifyMessage.of(new Delta(COHORT, "Power users (30d)", email, true, 12,
                    Instant.parse("2026-11-28T11:00:00Z")), "Mixpanel - ").encode());
        }

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then one /v1/batch request carries them all (the bench's "2,000 identifies per request" target)
        assertThat(packing.batches()).as("requests for 2,000 identifies of %d bytes", messages.getFirst().size())
                .hasSize(1);
        assertThat(packing.oversize()).isEmpty();
    }
}
