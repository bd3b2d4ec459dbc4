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
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class SegmentBatcherTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Bytes the messages of one batch may take, commas included. */
    private static final int BUDGET = SegmentBatcher.MAX_REQUEST_BYTES - SegmentBatcher.RESERVED_BYTES;

    @Test
    void pack_returnsOneBatch_when1000TypicalIdentifies() {
        // given 1,000 identifies with email user ids
        List<EncodedMessage> messages = IntStream.range(0, 1000).mapToObj(i -> IdentifyMessage.of(
                new Delta(new CohortRef("2195193", "1457721"), "Power users", "user" + i + "@example.com", true, 1,
                        Instant.parse("2026-11-28T11:00:00Z")), "Mixpanel - ").encode()).toList();

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then
        assertThat(packing.batches()).hasSize(1);
        assertThat(packing.batches().getFirst().size()).isEqualTo(1000);
        assertThat(packing.oversize()).isEmpty();
    }

    @Test
    void pack_splitsAt2500Messages_whenMessagesAreSmall() {
        // given 5,001 messages of 60 bytes (150 KB per 2,500: bytes are not the limit)
        List<EncodedMessage> messages = messages(5001, 60);

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then
        assertThat(packing.batches()).extracting(SegmentBatch::size).containsExactly(2500, 2500, 1);
        assertThat(packing.batches().stream().flatMap(b -> b.messages().stream()).toList()).isEqualTo(messages);
    }

    @Test
    void pack_fillsBatchToExactByteBudget_whenMessagesFitExactly() {
        // given messages sized so that they plus their commas fill the byte budget exactly
        int n = 16;
        int size = (BUDGET - (n - 1)) / n;
        int remainder = BUDGET - (n - 1) - size * n;
        List<EncodedMessage> exact = new ArrayList<>(messages(n - 1, size));
        exact.add(message("last", size + remainder));

        // when
        SegmentBatcher.Packing fits = SegmentBatcher.pack(exact);
        SegmentBatcher.Packing oneMore = SegmentBatcher.pack(append(exact, message("extra", 60)));

        // then
        assertThat(fits.batches()).hasSize(1);
        assertThat(fits.batches().getFirst().bodyBytes()).isLessThanOrEqualTo(SegmentBatcher.MAX_REQUEST_BYTES);
        assertThat(oneMore.batches()).extracting(SegmentBatch::size).containsExactly(n, 1);
    }

    @Test
    void pack_keepsEveryBodyWithin500KB_whenMessagesAreLarge() {
        // given 300 messages of 20,000 bytes (6 MB in all)
        List<EncodedMessage> messages = messages(300, 20_000);

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then every body is within the limit, and every batch but the last is full
        assertThat(packing.batches()).allSatisfy(b -> {
            assertThat(b.body(Instant.now()).length).isEqualTo(b.bodyBytes()).isLessThanOrEqualTo(500_000);
        });
        assertThat(packing.batches()).extracting(SegmentBatch::size).containsOnly(24, 12);
    }

    @Test
    void pack_rejectsMessageWithReason_whenOver32000Bytes() {
        // given one message at the limit and one a byte over it, among small ones
        EncodedMessage atLimit = message("at-limit", 32_000);
        EncodedMessage over = message("over", 32_001);
        List<EncodedMessage> messages = List.of(message("a", 100), atLimit, over, message("b", 100));

        // when
        SegmentBatcher.Packing packing = SegmentBatcher.pack(messages);

        // then
        assertThat(packing.oversize()).singleElement().satisfies(o -> {
            assertThat(o.message()).isSameAs(over);
            assertThat(o.reason()).contains("32001 bytes").contains("32000");
        });
        assertThat(packing.batches()).singleElement().extracting(SegmentBatch::messages).asList()
                .doesNotContain(over).contains(atLimit);
    }

    @Test
    void body_isBatchEnvelopeWithSentAt_whenBuilt() throws Exception {
        // given
        SegmentBatch batch = new SegmentBatch(List.of(message("m1", 60), message("m2", 70)));

        // when
        byte[] body = batch.body(Instant.parse("2026-11-28T11:00:01.5Z"));

        // then
        JsonNode json = MAPPER.readTree(body);
        assertThat(json.path("batch")).hasSize(2);
        assertThat(json.path("batch").get(0).path("messageId").asText()).isEqualTo("m1");
        assertThat(json.path("sentAt").asText()).isEqualTo("2026-11-28T11:00:01.500Z");
        assertThat(body).hasSize(batch.bodyBytes());
    }

    @Test
    void halves_splitsInOrder_whenOddSize() {
        // given
        SegmentBatch batch = new SegmentBatch(messages(5, 50));

        // when
        List<SegmentBatch> halves = batch.halves();

        // then
        assertThat(halves).extracting(SegmentBatch::size).containsExactly(3, 2);
        assertThat(halves.get(0).messages().getFirst()).isSameAs(batch.messages().getFirst());
    }

    private static List<EncodedMessage> messages(int count, int size) {
        return IntStream.range(0, count).mapToObj(i -> message("m" + i, size)).toList();
    }

    /** A valid identify JSON object of exactly {@code size} bytes. */
    static EncodedMessage message(String messageId, int size) {
        String head = "{\"type\":\"identify\",\"messageId\":\"" + messageId + "\",\"userId\":\"";
        String tail = "\"}";
        int pad = size - head.length() - tail.length();
        if (pad < 1) {
            throw new IllegalArgumentException("size too small for " + messageId);
        }
        byte[] json = (head + "u".repeat(pad) + tail).getBytes(StandardCharsets.UTF_8);
        return new EncodedMessage(messageId, json);
    }

    private static List<EncodedMessage> append(List<EncodedMessage> list, EncodedMessage m) {
        List<EncodedMessage> copy = new ArrayList<>(list);
        copy.add(m);
        return copy;
    }
}
