package io.cohortsync.segment;

import io.cohortsync.testkit.SegmentStandIn;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link SegmentClient} over real HTTP against the stand-in, and the stand-in's Segment-like validation. */
class SegmentClientIT {
    private static final String KEY = "wk-client-it-91b3";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private SegmentStandIn segment;
    private SegmentClient client;

    @BeforeEach
    void start() {
        segment = SegmentStandIn.start(KEY);
        client = new SegmentClient(segment.baseUrl(), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        segment.close();
    }

    @Test
    void postBatch_sendsJsonWithWriteKeyAsBasicUser_whenCalled() {
        // when
        SegmentResponse response = client.postBatch(batch(1), KEY, TIMEOUT);

        // then
        assertThat(response).isEqualTo(new SegmentResponse.Answered(200, Optional.empty()));
        SegmentStandIn.RecordedRequest request = segment.requests().getFirst();
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.path()).isEqualTo("/v1/batch");
        assertThat(request.header("Content-Type")).isEqualTo("application/json");
        assertThat(request.header("Authorization")).isEqualTo("Basic "
                + Base64.getEncoder().encodeToString((KEY + ":").getBytes(StandardCharsets.UTF_8)));
        assertThat(request.header("User-Agent")).isEqualTo("cohort-sync/0.1.0");
        assertThat(segment.acceptedIdentifies()).hasSize(1);
    }

    @Test
    void postBatch_returns401_whenWriteKeyWrong() {
        assertThat(client.postBatch(batch(1), "wk-wrong", TIMEOUT)).isEqualTo(
                new SegmentResponse.Answered(401, Optional.empty()));
        assertThat(segment.acceptedIdentifies()).isEmpty();
    }

    @Test
    void postBatch_returnsRetryAfter_whenSegmentAnswers429() {
        // given one answer in seconds, one as an HTTP-date 30 s ahead
        segment.failNext(1, 429, 7);
        segment.failNext(1, 429, DateTimeFormatter.RFC_1123_DATE_TIME.format(
                Instant.now().plusSeconds(30).atZone(ZoneOffset.UTC)));

        // when
        SegmentResponse seconds = client.postBatch(batch(1), KEY, TIMEOUT);
        SegmentResponse date = client.postBatch(batch(1), KEY, TIMEOUT);

        // then
        assertThat(seconds).isEqualTo(new SegmentResponse.Answered(429, Optional.of(Duration.ofSeconds(7))));
        assertThat(date).isInstanceOfSatisfying(SegmentResponse.Answered.class, a -> assertThat(a.retryAfter())
                .hasValueSatisfying(d -> assertThat(d).isBetween(Duration.ofSeconds(25), Duration.ofSeconds(30))));
    }

    @Test
    void postBatch_returnsTimedOut_whenAnswerSlowerThanTimeout() {
        // given
        segment.delayNext(1, Duration.ofSeconds(10));

        // when
        long started = System.nanoTime();
        SegmentResponse response = client.postBatch(batch(1), KEY, Duration.ofMillis(300));

        // then
        assertThat(response).isInstanceOf(SegmentResponse.TimedOut.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void postBatch_returnsUnreachable_whenNothingListens() {
        // given a port nobody listens on any more
        SegmentStandIn gone = SegmentStandIn.start(KEY);
        SegmentClient toGone = new SegmentClient(gone.baseUrl(), Clock.systemUTC());
        gone.close();

        // when / then
        assertThat(toGone.postBatch(batch(1), KEY, TIMEOUT)).isInstanceOf(SegmentResponse.Unreachable.class);
    }

    @Test
    void standIn_dropsMessagesBeyond2500_whenBatchTooLong() {
        // when
        SegmentResponse response = client.postBatch(batch(2501, 60), KEY, TIMEOUT);

        // then
        assertThat(response).isInstanceOfSatisfying(SegmentResponse.Answered.class, a -> assertThat(a.status()).isEqualTo(200));
        assertThat(segment.droppedOverLimit()).isEqualTo(1);
        assertThat(segment.acceptedIdentifies()).hasSize(2500);
    }

    @Test
    void standIn_answers400_whenBodyOrMessageTooLarge() {
        // when
        SegmentResponse bigBody = client.postBatch(batch(50, 10_100), KEY, TIMEOUT);
        SegmentResponse bigMessage = client.postBatch(batch(1, 32_001), KEY, TIMEOUT);
        SegmentResponse notJson = client.postBatch("{\"batch\":[".getBytes(StandardCharsets.UTF_8), KEY, TIMEOUT);
        SegmentResponse noBatch = client.postBatch("{\"messages\":[]}".getBytes(StandardCharsets.UTF_8), KEY, TIMEOUT);

        // then
        assertThat(List.of(bigBody, bigMessage, notJson, noBatch)).allSatisfy(r -> assertThat(r)
                .isInstanceOfSatisfying(SegmentResponse.Answered.class, a -> assertThat(a.status()).isEqualTo(400)));
        assertThat(segment.acceptedIdentifies()).isEmpty();
    }

    @Test
    void standIn_acceptsOnceAndDropsInvalid_whenDuplicateIdsAndMissingUser() {
        // given the same message twice, and an identify without a user id
        byte[] body = ("{\"batch\":[" + message("dup", 80) + "," + message("dup", 80)
                + ",{\"type\":\"identify\",\"messageId\":\"anon\",\"traits\":{}}]}").getBytes(StandardCharsets.UTF_8);

        // when
        client.postBatch(body, KEY, TIMEOUT);

        // then
        assertThat(segment.acceptedIdentifies()).hasSize(1);
        assertThat(segment.duplicates()).isEqualTo(1);
        assertThat(segment.droppedInvalid()).isEqualTo(1);
        assertThat(segment.requests().getFirst().accepted()).isEqualTo(1);
    }

    private static byte[] batch(int n) {
        return batch(n, 120);
    }

    /** A batch body of {@code n} identify messages of exactly {@code size} bytes each. */
    private static byte[] batch(int n, int size) {
        return ("{\"batch\":[" + IntStream.range(0, n).mapToObj(i -> message("m" + i, size))
                .collect(Collectors.joining(",")) + "]}").getBytes(StandardCharsets.UTF_8);
    }

    /** A valid identify JSON object of exactly {@code size} bytes (as shared's SegmentBatcherTest builds them). */
    private static String message(String messageId, int size) {
        String head = "{\"type\":\"identify\",\"messageId\":\"" + messageId + "\",\"userId\":\"";
        String tail = "\"}";
        int pad = size - head.length() - tail.length();
        if (pad < 1) {
            throw new IllegalArgumentException("size too small for " + messageId);
        }
        return head + "u".repeat(pad) + tail;
    }
}
