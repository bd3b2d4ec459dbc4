package io.cohortsync.observability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * CloudWatch Embedded Metric Format: values gathered during one invocation, written as one log line
 * by {@link #flush()} (no PutMetricData call on the hot path). Dimensions are cohort-free so the
 * number of metric series stays bounded however many cohorts sync. Every metric is published under
 * the base dimensions given at construction (what alarms and the dashboard use) and, when
 * {@link #dimension} added more, also under base + those (a breakdown, e.g. by action).
 */
public final class Metrics {
    public static final String NAMESPACE = "CohortSync";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final PrintStream out;
    private final Clock clock;
    private final Map<String, String> dimensions = new LinkedHashMap<>();
    private final int baseDimensions;
    private final Map<String, Double> values = new LinkedHashMap<>();
    private final Map<String, String> units = new LinkedHashMap<>();

    public Metrics(PrintStream out, Clock clock, Map<String, String> dimensions) {
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.dimensions.putAll(dimensions);
        this.baseDimensions = dimensions.size();
    }

    public Metrics dimension(String name, String value) {
        dimensions.put(name, value);
        return this;
    }

    public Metrics count(String name, long n) {
        values.merge(name, (double) n, Double::sum);
        units.put(name, "Count");
        return this;
    }

    public Metrics millis(String name, double ms) {
        values.put(name, ms);
        units.put(name, "Milliseconds");
        return this;
    }

    /** Writes the EMF line (if anything was recorded) and clears the values. */
    public void flush() {
        if (values.isEmpty()) {
            return;
        }
        ObjectNode line = MAPPER.createObjectNode();
        ObjectNode aws = line.putObject("_aws");
        aws.put("Timestamp", clock.millis());
        ObjectNode directive = aws.putArray("CloudWatchMetrics").addObject();
        directive.put("Namespace", NAMESPACE);
        ArrayNode dimensionSets = directive.putArray("Dimensions");
        ArrayNode base = dimensionSets.addArray();
        dimensions.keySet().stream().limit(baseDimensions).forEach(base::add);
        if (dimensions.size() > baseDimensions) {
            ArrayNode detailed = dimensionSets.addArray();
            dimensions.keySet().forEach(detailed::add);
        }
        ArrayNode metrics = directive.putArray("Metrics");
        values.forEach((name, value) -> {
            metrics.addObject().put("Name", name).put("Unit", units.get(name));
            line.put(name, value);
        });
        dimensions.forEach(line::put);
        String text = line.toString();
        synchronized (out) {
            out.println(text);
        }
        values.clear();
        units.clear();
    }
}
