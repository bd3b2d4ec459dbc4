package io.cohortsync.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.DependencyUnavailableException;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;

/** A Segment source write key, as stored in the secret {@code {"writeKey": "…"}}. Never printed. */
public record SegmentWriteKey(String value) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public SegmentWriteKey {
        Objects.requireNonNull(value, "value");
        if (value.isBlank()) {
            throw new IllegalArgumentException("write key must not be blank");
        }
    }

    /**
     * Parses the secret; anything else is a misconfiguration, reported as retryable (alarmed), so no
     * data is dropped for it.
     */
    public static SegmentWriteKey parse(String secret) {
        try {
            String key = MAPPER.readTree(secret).path("writeKey").asText("");
            if (key.isBlank()) {
                throw new DependencyUnavailableException("SecretsManager", "Segment secret lacks a non-empty writeKey",
                        null);
            }
            return new SegmentWriteKey(key);
        } catch (JsonProcessingException e) {
            // Never include the parser's message: it may quote the secret.
            throw new DependencyUnavailableException("SecretsManager", "Segment secret is not JSON", null);
        }
    }

    /** HTTP Basic with the write key as user name and an empty password: base64("writeKey:"). */
    public static String basicAuthorization(String writeKey) {
        return "Basic " + Base64.getEncoder().encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "SegmentWriteKey[redacted]";
    }
}
