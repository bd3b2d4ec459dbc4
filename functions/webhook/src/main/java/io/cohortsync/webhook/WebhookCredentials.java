package io.cohortsync.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The Basic-auth credentials each connection's Mixpanel webhook is configured with, as stored in
 * Secrets Manager: {@code {"username": …, "password": …}} for {@code /mixpanel}, plus optionally
 * {@code "connections": {"<name>": {"username": …, "password": …}}} for {@code /mixpanel/<name>}.
 */
record WebhookCredentials(Map<String, Pair> byConnection) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One connection's username and password. */
    record Pair(String username, String password) {
        @Override
        public String toString() {
            return "Pair[redacted]";
        }
    }

    WebhookCredentials {
        byConnection = Map.copyOf(byConnection);
    }

    Optional<Pair> forConnection(String connection) {
        return Optional.ofNullable(byConnection.get(connection));
    }

    @Override
    public String toString() {
        return "WebhookCredentials" + byConnection.keySet();
    }

    /** Parses the secret; anything malformed is a misconfiguration (retryable, alarmed), never a 401. */
    static WebhookCredentials parse(String secret) {
        JsonNode node;
        try {
            node = MAPPER.readTree(secret);
        } catch (JsonProcessingException e) {
            // Never include the exception message: it may quote the secret.
            throw new DependencyUnavailableException("SecretsManager", "webhook secret is not JSON", null);
        }
        if (node == null || !node.isObject()) {
            throw new DependencyUnavailableException("SecretsManager", "webhook secret is not a JSON object", null);
        }
        Map<String, Pair> map = new HashMap<>();
        pair(node, CohortRef.DEFAULT_CONNECTION).ifPresent(p -> map.put(CohortRef.DEFAULT_CONNECTION, p));
        node.path("connections").properties().forEach(e -> pair(e.getValue(), e.getKey()).ifPresent(p -> map.put(e.getKey(), p)));
        if (map.isEmpty()) {
            throw new DependencyUnavailableException("SecretsManager",
                    "webhook secret lacks a non-empty username or password", null);
        }
        return new WebhookCredentials(map);
    }

    private static Optional<Pair> pair(JsonNode node, String connection) {
        String user = node.path("username").asText("");
        String pass = node.path("password").asText("");
        if (user.isEmpty() && pass.isEmpty()) {
            return Optional.empty();
        }
        if (user.isEmpty() || pass.isEmpty()) {
            throw new DependencyUnavailableException("SecretsManager", "webhook secret: connection '" + connection
                    + "' lacks a non-empty username or password", null);
        }
        return Optional.of(new Pair(user, pass));
    }
}
