package io.cohortsync.segment;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One Segment message serialized once, as compact UTF-8 JSON, so batching can count its exact bytes
 * and every retry sends the same bytes.
 *
 * @param messageId the message's {@code messageId} (its identity for deduplication and outcomes)
 * @param json      the message's JSON; never modified after construction
 */
public record EncodedMessage(String messageId, byte[] json) {
    public EncodedMessage {
        Objects.requireNonNull(messageId, "messageId");
        Objects.requireNonNull(json, "json");
    }

    public int size() {
        return json.length;
    }

    @Override
    public String toString() {
        // The JSON carries the user id: keep it out of anything that prints this record.
        return "EncodedMessage[messageId=" + messageId + ", bytes=" + json.length + "]";
    }

    /** For tests and tooling. */
    public String jsonText() {
        return new String(json, StandardCharsets.UTF_8);
    }
}
