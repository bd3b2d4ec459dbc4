package io.cohortsync.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One Segment {@code track} event announcing a membership change, in the convention Segment Engage and
 * Hightouch use for audiences:
 * <pre>{"type":"track","userId":"u-1001","event":"Audience Entered",
 *  "properties":{"audience_key":"Mixpanel - Power users","mixpanel_cohort_id":"1457721",
 *                "mixpanel_cohort_name":"Power users","mixpanel_project_id":"2195193"},
 *  "messageId":"cohort-sync-…","timestamp":"2026-11-28T11:00:00.123Z"}</pre>
 * {@code audience_key} is the trait the identify sets (prefix + cohort name). Ids are strings, as Mixpanel's
 * webhook may send them either way and our state keeps them as strings. A cohort without a project id
 * (keyed under {@link CohortRef#UNKNOWN_PROJECT}) has no {@code mixpanel_project_id}. Same user id (or
 * anonymous id) and timestamp as the identify of the same change; its own messageId
 * ({@link MessageIds#track}).
 *
 * @param userId      the Segment user id; null when anonymous
 * @param anonymousId the Segment anonymous id; null when {@code userId} is set
 * @param event       {@link #ENTERED} or {@link #EXITED}
 * @param properties  property name to string value, in order
 * @param messageId   deterministic id, at most 100 characters
 * @param timestamp   when the change was observed
 */
public record TrackMessage(String userId, String anonymousId, String event, Map<String, String> properties,
                           String messageId, Instant timestamp) implements SegmentMessage {
    public static final String ENTERED = "Audience Entered";
    public static final String EXITED = "Audience Exited";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public TrackMessage {
        IdentifyMessage.requireOneId(userId, anonymousId);
        Objects.requireNonNull(event, "event");
        if (event.isEmpty()) {
            throw new IllegalArgumentException("event must not be empty");
        }
        Objects.requireNonNull(properties, "properties");
        properties = Collections.unmodifiableMap(new LinkedHashMap<>(properties));
        Objects.requireNonNull(messageId, "messageId");
        if (messageId.isEmpty() || messageId.length() > IdentifyMessage.MAX_MESSAGE_ID_CHARS) {
            throw new IllegalArgumentException("messageId must be 1.." + IdentifyMessage.MAX_MESSAGE_ID_CHARS
                    + " characters");
        }
        Objects.requireNonNull(timestamp, "timestamp");
    }

    /** The Audience Entered (member) or Audience Exited (not a member) event of {@code delta}. */
    public static TrackMessage of(Delta delta, String traitPrefix, String namespace) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("audience_key", traitPrefix + delta.cohortName());
        properties.put("mixpanel_cohort_id", delta.cohort().cohortId());
        properties.put("mixpanel_cohort_name", delta.cohortName());
        if (!CohortRef.UNKNOWN_PROJECT.equals(delta.cohort().projectId())) {
            properties.put("mixpanel_project_id", delta.cohort().projectId());
        }
        return new TrackMessage(delta.segmentUserId(), delta.anonymousId(), delta.member() ? ENTERED : EXITED,
                properties, MessageIds.track(delta, traitPrefix, namespace), delta.observedAt());
    }

    @Override
    public EncodedMessage encode() {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("type", "track");
        if (userId != null) {
            json.put("userId", userId);
        } else {
            json.put("anonymousId", anonymousId);
        }
        json.put("event", event);
        ObjectNode p = json.putObject("properties");
        properties.forEach(p::put);
        json.put("messageId", messageId);
        json.put("timestamp", IdentifyMessage.TIMESTAMP.format(timestamp));
        try {
            return new EncodedMessage(messageId, MAPPER.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings always serializes", e);
        }
    }

    @Override
    public String toString() {
        // userId / anonymousId are distinct ids (often emails): never print them.
        return "TrackMessage[messageId=" + messageId + ", event=" + event + "]";
    }
}
