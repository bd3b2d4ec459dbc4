package io.cohortsync.infra;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every custom metric an alarm or the dashboard uses must be one the code really emits, with the same
 * namespace, name, dimension names and Function value; and every EMF line the functions write must be
 * valid. The emitted set comes from running both real handlers on moto, not from a list in the code.
 */
@ExtendWith(MotoExtension.class)
class ObservabilityIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    /** namespace/name{dimension=value,...} */
    private static String key(String namespace, String name, Map<String, String> dimensions) {
        return namespace + "/" + name + new java.util.TreeMap<>(dimensions);
    }

    @Test
    void everyMetricUsedByAlarmsAndDashboard_isEmittedByTheCode(AwsStack stack) throws Exception {
        Set<String> emitted = emittedSeries(stack);
        Set<String> referenced = new TreeSet<>();
        referenced.addAll(alarmSeries());
        referenced.addAll(dashboardSeries());
        assertThat(referenced).as("custom metrics used by alarms and dashboard").isNotEmpty()
                .anySatisfy(s -> assertThat(s).contains("sender"))
                .anySatisfy(s -> assertThat(s).contains("webhook"));
        assertThat(emitted).containsAll(referenced);
    }

    private Set<String> emittedSeries(AwsStack stack) throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("DELTA_DELAY_SECONDS", "0");
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            WebhookHandler webhook = WebhookHandler.forEnvironment(env);
            SenderHandler sender = SenderHandler.forEnvironment(env);
            // a success, a held-free full sync, a 401 and a 400: every webhook code path that flushes metrics
            webhook.handleRequest(ApiGatewayEvents.post(Exports.add("obs", "Observed", Exports.users("o", 0, 3))), null);
            webhook.handleRequest(ApiGatewayEvents.post(Exports.members("obs", "Observed", null, 1, 1,
                    Exports.users("o", 0, 2))), null);
            webhook.handleRequest(ApiGatewayEvents.post("{}", ApiGatewayEvents.basic("mixpanel", "nope")), null);
            webhook.handleRequest(ApiGatewayEvents.post("not json"), null);
            var messages = SqsEvents.awaitMessages(stack.sqs, stack.queueUrl, 1, Duration.ofSeconds(10));
            SQSBatchResponse response = sender.handleRequest(SqsEvents.event(stack.queueUrl, messages),
                    LambdaContexts.withRemaining("sender", Duration.ofSeconds(60)));
            assertThat(response.getBatchItemFailures()).isEmpty();
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        List<String> lines = Emf.lines(output);
        assertThat(lines).hasSizeGreaterThanOrEqualTo(5);
        Set<String> series = new TreeSet<>();
        for (String line : lines) {
            JsonNode root = JSON.readTree(line);
            for (Emf.Series s : Emf.validate(line)) {
                Map<String, String> dims = new HashMap<>();
                s.dimensions().forEach(d -> dims.put(d, root.get(d).asText()));
                series.add(key(s.namespace(), s.name(), dims));
            }
        }
        return series;
    }

    /** Custom-namespace metrics of every alarm, single-metric or metric-math. */
    private static Set<String> alarmSeries() {
        Set<String> series = new TreeSet<>();
        TEMPLATE.resourcesOfType("AWS::CloudWatch::Alarm").forEach((id, alarm) -> {
            JsonNode p = alarm.path("Properties");
            List<JsonNode> metrics = new ArrayList<>();
            if (p.has("MetricName")) {
                metrics.add(p);
            }
            p.path("Metrics").forEach(m -> {
                if (m.has("MetricStat")) {
                    metrics.add(m.path("MetricStat").path("Metric"));
                }
            });
            assertThat(metrics).as(id + " names a metric").isNotEmpty();
            for (JsonNode m : metrics) {
                if (!m.path("Namespace").asText().startsWith("AWS/")) {
                    Map<String, String> dims = new HashMap<>();
                    m.path("Dimensions").forEach(d -> dims.put(d.path("Name").asText(), d.path("Value").asText()));
                    series.add(key(m.path("Namespace").asText(), m.path("MetricName").asText(), dims));
                }
            }
        });
        return series;
    }

    /** Custom-namespace metrics of every dashboard widget, with CloudWatch's "." and "..." shorthand expanded. */
    private static Set<String> dashboardSeries() throws Exception {
        Set<String> series = new TreeSet<>();
        for (JsonNode dashboard : TEMPLATE.resourcesOfType("AWS::CloudWatch::Dashboard").values()) {
            JsonNode body = dashboard.path("Properties").path("DashboardBody");
            String text = body.has("Fn::Sub") ? (body.get("Fn::Sub").isArray()
                    ? body.get("Fn::Sub").get(0).asText() : body.get("Fn::Sub").asText()) : body.asText();
            Matcher vars = Pattern.compile("\\$\\{([^}]+)}").matcher(text);
            text = vars.replaceAll(m -> "SUB_" + m.group(1).replaceAll("[^A-Za-z0-9]", "_"));
            JsonNode widgets = JSON.readTree(text).path("widgets");
            assertThat(widgets.size()).as("dashboard widgets").isGreaterThanOrEqualTo(5);
            for (JsonNode widget : widgets) {
                List<String> previous = List.of();
                for (JsonNode row : widget.path("properties").path("metrics")) {
                    List<String> values = new ArrayList<>();
                    row.forEach(v -> {
                        if (v.isTextual()) {
                            values.add(v.asText());
                        }
                    });
                    List<String> expanded = new ArrayList<>();
                    if (!values.isEmpty() && values.get(0).equals("...")) {
                        expanded.addAll(previous.subList(0, previous.size() - (values.size() - 1)));
                        expanded.addAll(values.subList(1, values.size()));
                    } else {
                        for (int i = 0; i < values.size(); i++) {
                            expanded.add(values.get(i).equals(".") ? previous.get(i) : values.get(i));
                        }
                    }
                    previous = expanded;
                    if (!expanded.get(0).startsWith("AWS/")) {
                        Map<String, String> dims = new HashMap<>();
                        for (int i = 2; i + 1 < expanded.size(); i += 2) {
                            dims.put(expanded.get(i), expanded.get(i + 1));
                        }
                        series.add(key(expanded.get(0), expanded.get(1), dims));
                    }
                }
            }
        }
        return series;
    }
}
