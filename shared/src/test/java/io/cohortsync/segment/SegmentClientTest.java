package io.cohortsync.segment;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

class SegmentClientTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-28T11:00:00Z"), ZoneOffset.UTC);

    @Test
    void parseRetryAfter_returnsSeconds_whenDelaySeconds() {
        assertThat(SegmentClient.parseRetryAfter("7", CLOCK)).contains(Duration.ofSeconds(7));
    }

    @Test
    void parseRetryAfter_returnsTimeUntilDate_whenHttpDate() {
        assertThat(SegmentClient.parseRetryAfter("Sat, 28 Nov 2026 11:00:30 GMT", CLOCK)).contains(Duration.ofSeconds(30));
    }

    @Test
    void parseRetryAfter_returnsZero_whenDateIsPast() {
        assertThat(SegmentClient.parseRetryAfter("Sat, 28 Nov 2026 10:00:00 GMT", CLOCK)).contains(Duration.ZERO);
    }

    @Test
    void parseRetryAfter_returnsEmpty_whenUnreadable() {
        assertThat(SegmentClient.parseRetryAfter("soon", CLOCK)).isEmpty();
        assertThat(SegmentClient.parseRetryAfter(" ", CLOCK)).isEmpty();
    }

    @Test
    void batchUrl_appendsV1Batch_whenBaseHasTrailingSlash() {
        assertThat(new SegmentClient(URI.create("https://events.eu1.segmentapis.com/"), CLOCK).batchUrl())
                .hasToString("https://events.eu1.segmentapis.com/v1/batch");
    }
}
