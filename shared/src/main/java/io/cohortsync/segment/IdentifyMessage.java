package io.cohortsync.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.Delta;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One Segment {@code identify}, shaped like the one Mixpanel's own Segment source sends:
 * <pre>{"type":"identify","userId":"u-1001","traits":{"Mixpanel - Power users":true},
 *  "messageId":"cohort-sync-…","timestamp":"2026-11-28T11:00:00.123Z"}</pre>
 * No {@code context.library}: like Mixpanel's source we leave it out, since its 63 bytes per message
 * would cost about a fifth of the identifies a 500 KB batch can carry. Provenance stays visible in
 * the {@code cohort-sync-} messageId prefix and the request's User-Agent.
 *
 * @param userId    the Segment user id (the Mixpanel distinct id, or the mapped property)
 * @param traits    trait key to value (boolean membership; copied properties may be strings or numbers), in order
 * @param messageId deterministic id (see {@link MessageIds}), at most 100 characters
 * @param timestamp when the change was observed, so a delayed send is not misdated
 */
public record IdentifyMessage(String userId, Map<String, Object> traits, String messageId, Instant timestamp) {
    public static final String DEFAULT_TRAIT_PREFIX = "Mixpanel - ";
    /** Segment's limit on {@code messageId}. */
    public static final int MAX_MESSAGE_ID_CHARS = 100;
    /** ISO-8601 UTC with exactly three fraction digits: fixed width, what Segment's libraries send. */
    static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public IdentifyMessage {
        Objects.requireNonNull(userId, "userId");
        if (userId.isEmpty()) {
            throw new IllegalArgumentException("userId must not be empty");
        }
        Objects.requireNonNull(traits, "traits");
        traits = Collections.unmodifiableMap(new LinkedHashMap<>(traits));
        Objects.requireNonNull(messageId, "messageId");
        if (messageId.isEmpty() || messageId.length() > MAX_MESSAGE_ID_CHARS) {
            throw new IllegalArgumentException("messageId must be 1.." + MAX_MESSAGE_ID_CHARS + " characters");
        }
        Objects.requireNonNull(timestamp, "timestamp");
    }

    /**
     * The identify announcing {@code delta}: trait {@code <prefix><cohort name>} set to the membership,
     * sent to the mapped user id when there is one; a rename also sets the old name's trait to false.
     */
    public static IdentifyMessage of(Delta delta, String traitPrefix) {
        return of(delta, traitPrefix, null);
    }

    /** As above, with the deployment's message-id namespace (see {@link MessageIds#of(Delta, String, String)}). */
    public static IdentifyMessage of(Delta delta, String traitPrefix, String namespace) {
        Map<String, Object> traits = new LinkedHashMap<>();
        // Copied member properties first: the membership trait must win if a name collides.
        traits.putAll(delta.extraTraits());
        if (delta.previousName() != null) {
            traits.put(traitPrefix + delta.previousName(), false);
        }
        traits.put(traitPrefix + delta.cohortName(), delta.member());
        return new IdentifyMessage(delta.segmentUserId(), traits, MessageIds.of(delta, traitPrefix, namespace),
                delta.observedAt());
    }

    /**
     * The identify that sets only the old name's trait of a rename to false, for a delta whose own
     * identify is stale (a newer change overtook it): the newer change may not carry the old name, and
     * the overtaken one can no longer be sent (README "The rename rule"). Its messageId differs from the
     * delta's own.
     */
    public static IdentifyMessage clearing(Delta delta, String traitPrefix, String namespace) {
        if (delta.previousName() == null) {
            throw new IllegalArgumentException("only a delta that names a previous name has one to clear");
        }
        return new IdentifyMessage(delta.segmentUserId(), Map.of(traitPrefix + delta.previousName(), false),
                MessageIds.clearing(delta, traitPrefix, namespace), delta.observedAt());
    }

    public EncodedMessage encode() {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("type", "identify");
        json.put("userId", userId);
        ObjectNode t = json.putObject("traits");
        traits.forEach((k, v) -> t.set(k, MAPPER.valueToTree(v)));
        json.put("messageId", messageId);
        json.put("timestamp", TIMESTAMP.format(timestamp));
        try {
            return new EncodedMessage(messageId, MAPPER.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and booleans always serializes", e);
        }
    }

    @Override
    public String toString() {
        // userId is a distinct id (often an email): never print it.
        return "IdentifyMessage[messageId=" + messageId + ", traits=" + traits.keySet() + "]";
    }
}
