package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** bench/prices.json: unit prices (dollars per one unit), the platform log estimate, the latency model. */
record Prices(Map<String, Double> unit, Map<String, String> sources, String checked, double platformLogBytes,
              Map<String, Double> latencyMs, JsonNode raw) {

    static Prices load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Double> unit = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        root.path("prices").properties().forEach(e -> {
            unit.put(e.getKey(), e.getValue().path("usd").asDouble() / e.getValue().path("per").asDouble());
            sources.put(e.getKey(), e.getValue().path("source").asText());
        });
        Map<String, Double> latency = new LinkedHashMap<>();
        root.path("latency_model_ms").properties().forEach(e -> {
            if (e.getValue().isNumber()) {
                latency.put(e.getKey(), e.getValue().asDouble());
            }
        });
        return new Prices(unit, sources, root.path("checked").asText(),
                root.path("lambda_platform_log_bytes_per_invocation").path("bytes").asDouble(), latency, root);
    }

    double of(String item) {
        Double price = unit.get(item);
        if (price == null) {
            throw new IllegalArgumentException("prices.json has no " + item);
        }
        return price;
    }

    double latency(String op) {
        return latencyMs.getOrDefault(op, latencyMs.getOrDefault("default", 10.0));
    }
}
