package io.cohortsync.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads CloudWatch Embedded Metric Format lines and checks them against the specification: an
 * {@code _aws} block with a millisecond {@code Timestamp} and {@code CloudWatchMetrics} directives;
 * every directive's namespace, dimension sets (≤ 30 keys each) and metric definitions (≤ 100); every
 * dimension present at the root as a string, every metric as a number; units from CloudWatch's list.
 */
public final class Emf {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> UNITS = Set.of("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes",
            "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent",
            "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
            "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
            "Count/Second", "None");

    /** One metric as CloudWatch will store it: namespace, name and the exact dimension names. */
    public record Series(String namespace, String name, Set<String> dimensions) {
        @Override
        public String toString() {
            return namespace + "/" + name + new TreeSet<>(dimensions);
        }
    }

    private Emf() {
    }

    /** The EMF lines among captured output (JSON objects with an {@code _aws} key). */
    public static List<String> lines(String output) {
        List<String> lines = new ArrayList<>();
        for (String line : output.split("\n")) {
            String t = line.strip();
            if (t.startsWith("{") && t.contains("\"_aws\"")) {
                lines.add(t);
            }
        }
        return lines;
    }

    /**
     * Validates one EMF line.
     *
     * @return the series it publishes
     * @throws IllegalArgumentException naming the first rule broken
     */
    public static Set<Series> validate(String line) {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + line);
        }
        JsonNode aws = root.get("_aws");
        require(aws != null && aws.isObject(), "_aws must be an object", line);
        require(aws.path("Timestamp").isIntegralNumber() && aws.path("Timestamp").asLong() > 1_500_000_000_000L,
                "_aws.Timestamp must be epoch milliseconds", line);
        JsonNode directives = aws.get("CloudWatchMetrics");
        require(directives != null && directives.isArray() && !directives.isEmpty(),
                "_aws.CloudWatchMetrics must be a non-empty array", line);
        Set<Series> series = new HashSet<>();
        for (JsonNode d : directives) {
            String ns = d.path("Namespace").asText("");
            require(!ns.isEmpty() && ns.length() <= 256, "Namespace must be 1-256 characters", line);
            JsonNode dimensionSets = d.get("Dimensions");
            require(dimensionSets != null && dimensionSets.isArray(), "Dimensions must be an array of arrays", line);
            JsonNode metrics = d.get("Metrics");
            require(metrics != null && metrics.isArray() && metrics.size() <= 100, "Metrics must be an array of <= 100", line);
            List<Set<String>> sets = new ArrayList<>();
            for (JsonNode set : dimensionSets) {
                require(set.isArray() && set.size() <= 30, "each dimension set must be an array of <= 30 names", line);
                Set<String> names = new HashSet<>();
                for (JsonNode name : set) {
                    require(name.isTextual(), "dimension names must be strings", line);
                    JsonNode value = root.get(name.textValue());
                    require(value != null && value.isTextual() && !value.textValue().isEmpty(),
                            "dimension '" + name.textValue() + "' must be a non-empty string at the root", line);
                    names.add(name.textValue());
                }
                sets.add(names);
            }
            for (JsonNode m : metrics) {
                String name = m.path("Name").asText("");
                require(!name.isEmpty() && name.length() <= 1024, "metric Name must be 1-1024 characters", line);
                if (m.has("Unit")) {
                    require(UNITS.contains(m.get("Unit").asText()), "unknown Unit '" + m.get("Unit").asText() + "'", line);
                }
                JsonNode value = root.get(name);
                boolean numeric = value != null && (value.isNumber()
                        || (value.isArray() && !value.isEmpty() && allNumbers(value)));
                require(numeric, "metric '" + name + "' must have a numeric value at the root", line);
                for (Set<String> set : sets) {
                    series.add(new Series(ns, name, set));
                }
            }
        }
        return series;
    }

    private static boolean allNumbers(JsonNode array) {
        for (JsonNode n : array) {
            if (!n.isNumber()) {
                return false;
            }
        }
        return true;
    }

    private static void require(boolean ok, String rule, String line) {
        if (!ok) {
            throw new IllegalArgumentException("invalid EMF (" + rule + "): " + line);
        }
    }
}
