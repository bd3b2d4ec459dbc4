package io.cohortsync.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where each connection's identifies go, as stored in the Segment secret:
 * <pre>{"writeKey": "…",                                   (the default connection)
 *  "connections": {"eu-source": {"writeKey": "…", "region": "EU"},
 *                  "staging":   {"writeKey": "…", "endpoint": "https://proxy.example"}}}</pre>
 * A connection without {@code region}/{@code endpoint} uses the deployment's ({@code SEGMENT_REGION},
 * {@code SEGMENT_ENDPOINT}). Never printed.
 */
public final class SegmentDestinations {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** A connection's write key and, if it has its own, base URL. */
    public record Destination(String writeKey, URI baseUrl) {
        @Override
        public String toString() {
            return "Destination[baseUrl=" + baseUrl + ", writeKey=redacted]";
        }
    }

    private final Map<String, Destination> byConnection;

    private SegmentDestinations(Map<String, Destination> byConnection) {
        this.byConnection = Map.copyOf(byConnection);
    }

    /**
     * Parses the secret. A connection with an empty write key counts as not configured; anything malformed
     * is a misconfiguration, reported as retryable (alarmed), so no data is dropped for it.
     */
    public static SegmentDestinations parse(String secret) {
        JsonNode root;
        try {
            root = MAPPER.readTree(secret);
        } catch (JsonProcessingException e) {
            // Never include the parser's message: it may quote the secret.
            throw new DependencyUnavailableException("SecretsManager", "Segment secret is not JSON", null);
        }
        if (root == null || !root.isObject()) {
            throw new DependencyUnavailableException("SecretsManager", "Segment secret is not a JSON object", null);
        }
        Map<String, Destination> map = new HashMap<>();
        destination(root).ifPresent(d -> map.put(CohortRef.DEFAULT_CONNECTION, d));
        root.path("connections").properties().forEach(e -> destination(e.getValue()).ifPresent(d -> map.put(e.getKey(), d)));
        return new SegmentDestinations(map);
    }

    private static Optional<Destination> destination(JsonNode node) {
        String key = node.path("writeKey").asText("");
        if (key.isBlank()) {
            return Optional.empty();
        }
        URI base = null;
        if (node.hasNonNull("endpoint")) {
            base = URI.create(node.get("endpoint").asText());
        } else if (node.hasNonNull("region")) {
            base = SegmentRegion.parse(node.get("region").asText()).baseUrl();
        }
        return Optional.of(new Destination(key, base));
    }

    /**
     * @throws WriteKeyNotSetException when the connection has no write key, e.g. the placeholder a new stack
     *                                 creates (configure it; retried meanwhile)
     */
    public Destination forConnection(String connection) {
        Destination d = byConnection.get(connection);
        if (d == null) {
            throw new WriteKeyNotSetException(connection);
        }
        return d;
    }

    @Override
    public String toString() {
        return "SegmentDestinations" + byConnection.keySet();
    }
}
