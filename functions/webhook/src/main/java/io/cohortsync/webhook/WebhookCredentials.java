package io.cohortsync.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.DependencyUnavailableException;

/** The Basic-auth credentials Mixpanel is configured with, as stored in Secrets Manager. */
record WebhookCredentials(String username, String password) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Override
    public String toString() {
        return "WebhookCredentials[redacted]";
    }

    /** Parses {@code {"username": …, "password": …}}; anything else is a misconfiguration (retryable, alarmed). */
    static WebhookCredentials parse(String secret) {
        try {
            JsonNode node = MAPPER.readTree(secret);
            String user = node.path("username").asText("");
            String pass = node.path("password").asText("");
            if (user.isEmpty() || pass.isEmpty()) {
                throw new DependencyUnavailableException("SecretsManager",
                        "webhook secret lacks a non-empty username or password", null);
            }
            return new WebhookCredentials(user, pass);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // Never include the exception message: it may quote the secret.
            throw new DependencyUnavailableException("SecretsManager", "webhook secret is not JSON", null);
        }
    }
}
