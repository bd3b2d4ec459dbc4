package io.cohortsync.sender;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SenderConfigTest {

    @Test
    void fromEnvironment_appliesDefaults_whenOnlyRequiredSet() {
        // when
        SenderConfig config = SenderConfig.fromEnvironment(required());

        // then
        assertThat(config.segmentBaseUrl()).hasToString("https://api.segment.io");
        assertThat(config.traitPrefix()).isEqualTo("Mixpanel - ");
        assertThat(config.neverCommittedAfter()).isEqualTo(Duration.ofSeconds(900));
        assertThat(config.aheadRetryDelay()).isEqualTo(Duration.ofSeconds(15));
        assertThat(config.segmentTimeout()).isEqualTo(Duration.ofMillis(10_000));
        assertThat(config.secretCacheTtl()).isEqualTo(Duration.ofSeconds(300));
        assertThat(config.maxReceiveCount()).isEqualTo(5);
    }

    @Test
    void fromEnvironment_usesEuHost_whenRegionIsEu() {
        // given
        Map<String, String> env = required();
        env.put("SEGMENT_REGION", "eu");

        // when / then
        assertThat(SenderConfig.fromEnvironment(env).segmentBaseUrl()).hasToString("https://events.eu1.segmentapis.com");
    }

    @Test
    void fromEnvironment_usesOverride_whenEndpointSet() {
        // given
        Map<String, String> env = required();
        env.put("SEGMENT_REGION", "EU");
        env.put("SEGMENT_ENDPOINT", "http://127.0.0.1:4567");
        env.put("TRAIT_PREFIX", "");

        // when
        SenderConfig config = SenderConfig.fromEnvironment(env);

        // then
        assertThat(config.segmentBaseUrl()).hasToString("http://127.0.0.1:4567");
        assertThat(config.traitPrefix()).isEmpty();
    }

    @Test
    void fromEnvironment_fails_whenRegionUnknown() {
        // given
        Map<String, String> env = required();
        env.put("SEGMENT_REGION", "APAC");

        // when / then
        assertThatThrownBy(() -> SenderConfig.fromEnvironment(env)).hasMessageContaining("US or EU");
    }

    @Test
    void fromEnvironment_fails_whenRetryDelayExceedsSqsMaximum() {
        // given
        Map<String, String> env = required();
        env.put("AHEAD_RETRY_DELAY_SECONDS", "901");

        // when / then
        assertThatThrownBy(() -> SenderConfig.fromEnvironment(env)).hasMessageContaining("aheadRetryDelay");
    }

    @Test
    void fromEnvironment_namesVariable_whenRequiredMissing() {
        // given
        Map<String, String> env = required();
        env.remove("DLQ_URL");

        // when / then
        assertThatThrownBy(() -> SenderConfig.fromEnvironment(env)).hasMessageContaining("DLQ_URL");
    }

    private static Map<String, String> required() {
        Map<String, String> env = new HashMap<>();
        env.put("TABLE_NAME", "t");
        env.put("DELTA_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/deltas");
        env.put("DLQ_URL", "https://sqs.us-east-1.amazonaws.com/1/deltas-dlq");
        env.put("SEGMENT_SECRET_ID", "cohort-sync/segment");
        return env;
    }

    @Test
    void fromEnvironment_readsSegmentCalls_identifyByDefault_andRefusesAnUnknownCall() {
        // given / when / then
        assertThat(SenderConfig.fromEnvironment(required()).segmentCalls())
                .isEqualTo(io.cohortsync.segment.SegmentCalls.IDENTIFY);
        Map<String, String> env = required();
        env.put("SEGMENT_CALLS", "identify,track");
        assertThat(SenderConfig.fromEnvironment(env).segmentCalls())
                .isEqualTo(io.cohortsync.segment.SegmentCalls.IDENTIFY_AND_TRACK);
        env.put("SEGMENT_CALLS", "track");
        assertThat(SenderConfig.fromEnvironment(env).segmentMessages().calls())
                .isEqualTo(io.cohortsync.segment.SegmentCalls.TRACK);
        env.put("SEGMENT_CALLS", "page");
        assertThatThrownBy(() -> SenderConfig.fromEnvironment(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SEGMENT_CALLS must be 'identify', 'identify,track' or 'track'");
    }
}
