package io.cohortsync.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every custom metric an alarm or the dashboard uses must be one the code really emits, with the same
 * namespace, name, dimension names and Function value; and every EMF line the functions write must be
 * valid. The emitted set comes from running the three real handlers on moto ({@link HandlersOnMoto}),
 * not from a list in the code.
 */
@ExtendWith(MotoExtension.class)
class ObservabilityIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    /** namespace/name{dimension=value,...} */
    private static String key(String namespace, String name, Map<String, String> dimensions) {
        return namespace + "/" + name + new TreeMap<>(dimensions);
    }

    /** The three real handlers through every kind of work, once for this class. */
    private static HandlersOnMoto.Run run;

    @BeforeAll
    static void runTheHandlers(AwsStack stack) throws Exception {
        run = HandlersOnMoto.run(stack);
    }

    @Test
    void everyMetricUsedByAlarmsAndDashboard_isEmittedByTheCode() throws Exception {
        // when
        Set<String> emitted = emittedSeries(run.output());
        Set<String> referenced = new TreeSet<>();
        referenced.addAll(alarmSeries());
        referenced.addAll(dashboardSeries());
        // then
        assertThat(referenced).as("custom metrics used by alarms and dashboard").isNotEmpty()
                .anySatisfy(s -> assertThat(s).contains("sender"))
                .anySatisfy(s -> assertThat(s).contains("webhook"))
                .anySatisfy(s -> assertThat(s).contains("reconciler"));
        assertThat(emitted).containsAll(referenced);
    }

    @Test
    void reconcilerMetrics_countTheWorkTheScenarioGaveIt() throws Exception {
        // Guards the scenario behind the check above: had a job not run, its series would still be
        // emitted (as zeros) and that check would pass without the reconciler doing anything.
        // then: one exit (o2), one migrated item, and the re-announcement of o0 and o1 (and of o2 when
        // its shard's rename job ran before its exit; o3 entered under the new name)
        assertThat(HandlersOnMoto.sum(run, "reconciler", "ReconcileExits")).isEqualTo(1);
        assertThat(HandlersOnMoto.sum(run, "reconciler", "ReconcileMigrated")).isEqualTo(1);
        assertThat(HandlersOnMoto.sum(run, "reconciler", "ReconcileRenamed")).isBetween(2.0, 3.0);
        assertThat(HandlersOnMoto.sum(run, "reconciler", "ReconcileErrors")).isZero();
        assertThat(HandlersOnMoto.sum(run, "reconciler", "ReconcileJobs"))
                .as("16 shards x (count + apply + rename) + 1 migration").isGreaterThanOrEqualTo(49);
        assertThat(HandlersOnMoto.sum(run, "webhook", "ReconcilesQueued")).isEqualTo(1);
        // and: what Segment ends with is the exit and the rename
        assertThat(run.traits().get("o2@example.com")).as("o2's traits")
                .containsEntry("Mixpanel - " + HandlersOnMoto.NEW_NAME, BooleanNode.FALSE)
                .containsEntry("Mixpanel - " + HandlersOnMoto.NAME, BooleanNode.FALSE);
        assertThat(run.traits().get("o0@example.com")).as("o0's traits")
                .containsEntry("Mixpanel - " + HandlersOnMoto.NEW_NAME, BooleanNode.TRUE)
                .containsEntry("Mixpanel - " + HandlersOnMoto.NAME, BooleanNode.FALSE);
        // and: the reconciler's log line for watching a reconcile
        assertThat(HandlersOnMoto.logLines(run, "reconciler"))
                .anySatisfy(l -> assertThat(l.path("message").asText()).isEqualTo("reconcile job handled"));
    }

    private static Set<String> emittedSeries(String output) throws Exception {
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
