package io.cohortsync.testkit;

import io.cohortsync.observability.Metrics;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmfTest {
    @Test
    void validate_acceptsWhatMetricsWrites_withRollupAndDetailedDimensionSets() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new Metrics(new PrintStream(out, true, StandardCharsets.UTF_8), Clock.systemUTC(), Map.of("Function", "webhook"))
                .dimension("Action", "members").count("WebhookRequests", 1).millis("WebhookLatency", 12.5).flush();
        String line = out.toString(StandardCharsets.UTF_8).strip();
        assertThat(Emf.validate(line)).containsExactlyInAnyOrder(
                new Emf.Series(Metrics.NAMESPACE, "WebhookRequests", Set.of("Function")),
                new Emf.Series(Metrics.NAMESPACE, "WebhookRequests", Set.of("Function", "Action")),
                new Emf.Series(Metrics.NAMESPACE, "WebhookLatency", Set.of("Function")),
                new Emf.Series(Metrics.NAMESPACE, "WebhookLatency", Set.of("Function", "Action")));
    }

    @Test
    void validate_rejects_whenADeclaredMetricOrDimensionIsMissing() {
        String base = "{\"_aws\":{\"Timestamp\":1795865087152,\"CloudWatchMetrics\":[{\"Namespace\":\"N\","
                + "\"Dimensions\":[[\"Function\"]],\"Metrics\":[{\"Name\":\"X\",\"Unit\":\"Count\"}]}]}";
        assertThat(Emf.validate(base + ",\"Function\":\"f\",\"X\":1}")).hasSize(1);
        assertThatThrownBy(() -> Emf.validate(base + ",\"X\":1}")).hasMessageContaining("dimension 'Function'");
        assertThatThrownBy(() -> Emf.validate(base + ",\"Function\":\"f\"}")).hasMessageContaining("metric 'X'");
        assertThatThrownBy(() -> Emf.validate(base + ",\"Function\":\"f\",\"X\":\"1\"}")).hasMessageContaining("metric 'X'");
        assertThatThrownBy(() -> Emf.validate(base.replace("Count", "Things") + ",\"Function\":\"f\",\"X\":1}"))
                .hasMessageContaining("Unit");
        assertThatThrownBy(() -> Emf.validate("{\"_aws\":{\"Timestamp\":5}}")).hasMessageContaining("Timestamp");
    }
}
