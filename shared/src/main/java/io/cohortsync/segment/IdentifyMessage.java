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
 * An anonymous user ({@code MISSING_USER_ID=anonymous}) gets {@code "anonymousId":"<distinct id>"} instead of
 * {@code userId}; exactly one of the two is set, never empty.
 *
 * @param userId      the Segment user id (the Mixpanel distinct id, or the mapped property); null when anonymous
 * @param anonymousId the Segment anonymous id (the Mixpanel distinct id of a member without the user-id property);
 *                    null when {@code userId} is set
 * @param traits      trait key to value (boolean membership; copied properties may be strings or numbers), in order
 * @param messageId   deterministic id (see {@link MessageIds}), at most 100 characters
 * @param timestamp   when the change was observed, so a delayed send is not misdated
 */
public record IdentifyMessage(String userId, String anonymousId, Map<String, Object> traits, String messageId,
                              Instant timestamp) implements SegmentMessage {
    public static final String DEFAULT_TRAIT_PREFIX = "Mixpanel - ";
    /** Segment's limit on {@code messageId}. */
    public static final int MAX_MESSAGE_ID_CHARS = 100;
    /** ISO-8601 UTC with exactly three fraction digits: fixed width, what Segment's libraries send. */
    static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public IdentifyMessage {
        requireOneId(userId, anonymousId);
        Objects.requireNonNull(traits, "traits");
        traits = Collections.unmodifiableMap(new LinkedHashMap<>(traits));
        Objects.requireNonNull(messageId, "messageId");
        if (messageId.isEmpty() || messageId.length() > MAX_MESSAGE_ID_CHARS) {
            throw new IllegalArgumentException("messageId must be 1.." + MAX_MESSAGE_ID_CHARS + " characters");
        }
        Objects.requireNonNull(timestamp, "timestamp");
    }

    /** An identify of a user known by {@code userId}. */
    public IdentifyMessage(String userId, Map<String, Object> traits, String messageId, Instant timestamp) {
        this(userId, null, traits, messageId, timestamp);
    }

    /** Segment needs {@code userId} or {@code anonymousId}; we send exactly one, never empty. */
    static void requireOneId(String userId, String anonymousId) {
        if ((userId == null) == (anonymousId == null)) {
            throw new IllegalArgumentException("exactly one of userId and anonymousId must be set");
        }
        if ((userId != null ? userId : anonymousId).isEmpty()) {
            throw new IllegalArgumentException(userId != null ? "userId must not be empty"
                    : "anonymousId must not be empty");
        }
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
        return new IdentifyMessage(delta.segmentUserId(), delta.anonymousId(), traits,
                MessageIds.of(delta, traitPrefix, namespace), delta.observedAt());
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
        return new IdentifyMessage(delta.segmentUserId(), delta.anonymousId(),
                Map.of(traitPrefix + delta.previousName(), false), MessageIds.clearing(delta, traitPrefix, namespace),
                delta.observedAt());
    }

    @Override
    public EncodedMessage encode() {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("type", "identify");
        if (userId != null) {
            json.put("userId", userId);
        } else {
            json.put("anonymousId", anonymousId);
        }
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
        // userId / anonymousId are distinct ids (often emails): never print them.
        return "IdentifyMessage[messageId=" + messageId + ", traits=" + traits.keySet() + "]";
    }
}
