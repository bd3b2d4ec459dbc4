package io.cohortsync.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The delta queue's message format (documented in README "Delta message schema"). Deltas that share
 * cohort, name and observation time share one header, so a 1,000-change page costs ~60 bytes per
 * change and fits one SQS message:
 * <pre>{"schema":"cohort-sync.deltas/1","projectId":"2195193","cohortId":"1457721",
 *  "cohortName":"Power users","observedAt":"2026-11-28T11:00:00.123Z",
 *  "changes":[{"id":"u-1001","member":true,"version":3}]}</pre>
 * Optional: {@code connection} (absent: the default), {@code previousName} and {@code resend} in the
 * header (renames, backfills), {@code userId} and {@code traits} in a change (identity mapping, copied
 * properties), {@code "anonymous":true} in a change (sent with the distinct id as {@code anonymousId}) and
 * {@code "reannounced":true} in a change (a rename's re-announcement: membership unchanged). A reader that predates them would reject the message as malformed
 * only if it required them; this one treats them as absent when missing.
 */
public final class DeltaCodec {
    public static final String SCHEMA = "cohort-sync.deltas/1";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Bytes a message spends outside its changes, beyond the header strings. */
    private static final int ENVELOPE_OVERHEAD = 160;

    private DeltaCodec() {
    }

    /**
     * Encodes deltas into as few message bodies as possible, each at most {@code maxBytes} UTF-8 bytes.
     *
     * @throws IllegalArgumentException if one delta alone cannot fit
     */
    public static List<String> encode(List<Delta> deltas, int maxBytes) {
        Map<Header, List<Delta>> groups = new LinkedHashMap<>();
        for (Delta d : deltas) {
            groups.computeIfAbsent(new Header(d.cohort(), d.cohortName(), d.observedAt(), d.previousName(), d.resend()),
                    h -> new ArrayList<>()).add(d);
        }
        List<String> bodies = new ArrayList<>();
        groups.forEach((header, group) -> {
            int headerBytes = utf8(header.cohort.projectId()) + utf8(header.cohort.cohortId())
                    + utf8(header.name) + (header.previousName == null ? 0 : utf8(header.previousName) + 20)
                    + (header.resend == null ? 0 : utf8(header.resend) + 12) + ENVELOPE_OVERHEAD;
            ObjectNode message = null;
            ArrayNode changes = null;
            int size = 0;
            for (Delta d : group) {
                int changeBytes = utf8(d.distinctId()) + 64 + (d.userId() == null ? 0 : utf8(d.userId()) + 12)
                        + traitsBytes(d.extraTraits()) + (d.anonymous() ? 18 : 0) + (d.reannounced() ? 20 : 0);
                if (headerBytes + changeBytes > maxBytes) {
                    throw new IllegalArgumentException("a single delta exceeds " + maxBytes + " bytes");
                }
                if (message == null || size + changeBytes > maxBytes) {
                    if (message != null) {
                        bodies.add(message.toString());
                    }
                    message = header.toJson();
                    changes = message.putArray("changes");
                    size = headerBytes;
                }
                ObjectNode c = changes.addObject();
                c.put("id", d.distinctId());
                c.put("member", d.member());
                c.put("version", d.version());
                if (d.userId() != null) {
                    c.put("userId", d.userId());
                }
                if (!d.extraTraits().isEmpty()) {
                    c.set("traits", MAPPER.valueToTree(d.extraTraits()));
                }
                if (d.anonymous()) {
                    c.put("anonymous", true);
                }
                if (d.reannounced()) {
                    c.put("reannounced", true);
                }
                size += changeBytes;
            }
            if (message != null) {
                bodies.add(message.toString());
            }
        });
        return bodies;
    }

    /** Decodes one message body. @throws MalformedDeltaException if it is not a delta message. */
    public static List<Delta> decode(String body) {
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedDeltaException("message body is not JSON", e);
        }
        if (root == null || !root.isObject() || !SCHEMA.equals(root.path("schema").asText(null))) {
            throw new MalformedDeltaException("message is not a " + SCHEMA + " message", null);
        }
        try {
            String connection = optionalText(root, "connection");
            CohortRef cohort = new CohortRef(connection == null ? CohortRef.DEFAULT_CONNECTION : connection,
                    text(root, "projectId"), text(root, "cohortId"));
            String name = text(root, "cohortName");
            Instant observedAt = Instant.parse(text(root, "observedAt"));
            String previousName = optionalText(root, "previousName");
            String resend = optionalText(root, "resend");
            JsonNode changes = root.get("changes");
            if (changes == null || !changes.isArray()) {
                throw new MalformedDeltaException("'changes' must be an array", null);
            }
            List<Delta> deltas = new ArrayList<>(changes.size());
            for (JsonNode c : changes) {
                JsonNode member = c.get("member");
                JsonNode version = c.get("version");
                if (member == null || !member.isBoolean() || version == null || !version.canConvertToLong()) {
                    throw new MalformedDeltaException("a change lacks a boolean 'member' or numeric 'version'", null);
                }
                deltas.add(new Delta(cohort, name, text(c, "id"), member.booleanValue(), version.longValue(), observedAt,
                        optionalText(c, "userId"), previousName, resend, traits(c.get("traits")), flag(c, "anonymous"),
                        flag(c, "reannounced")));
            }
            return deltas;
        } catch (DateTimeParseException | IllegalArgumentException | NullPointerException e) {
            throw new MalformedDeltaException("invalid delta message: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> traits(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new MalformedDeltaException("'traits' must be an object", null);
        }
        Map<String, Object> traits = new LinkedHashMap<>();
        node.properties().forEach(e -> {
            JsonNode v = e.getValue();
            if (v.isTextual()) {
                traits.put(e.getKey(), v.textValue());
            } else if (v.isBoolean()) {
                traits.put(e.getKey(), v.booleanValue());
            } else if (v.isNumber()) {
                traits.put(e.getKey(), v.numberValue());
            } else {
                throw new MalformedDeltaException("trait values must be strings, numbers or booleans", null);
            }
        });
        return traits;
    }

    /** An optional boolean of a change: absent (messages written before it existed) is false. */
    private static boolean flag(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new MalformedDeltaException("'" + field + "' must be a boolean", null);
        }
        return v.booleanValue();
    }

    private static int traitsBytes(Map<String, Object> traits) {
        int bytes = 0;
        for (Map.Entry<String, Object> e : traits.entrySet()) {
            bytes += utf8(e.getKey()) + utf8(String.valueOf(e.getValue())) + 8;
        }
        return bytes == 0 ? 0 : bytes + 12;
    }

    private static String optionalText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new MalformedDeltaException("'" + field + "' must be a string", null);
        }
        return v.textValue();
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new MalformedDeltaException("'" + field + "' must be a string", null);
        }
        return v.textValue();
    }

    /** UTF-8 bytes of {@code s} as a JSON string: quotes and backslashes are escaped (the parser rejects controls). */
    private static int utf8(String s) {
        int escapes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                escapes++;
            }
        }
        return s.getBytes(StandardCharsets.UTF_8).length + escapes;
    }

    private record Header(CohortRef cohort, String name, Instant observedAt, String previousName, String resend) {
        ObjectNode toJson() {
            ObjectNode n = MAPPER.createObjectNode();
            n.put("schema", SCHEMA);
            if (!cohort.isDefaultConnection()) {
                n.put("connection", cohort.connection());
            }
            n.put("projectId", cohort.projectId());
            n.put("cohortId", cohort.cohortId());
            n.put("cohortName", name);
            n.put("observedAt", observedAt.toString());
            if (previousName != null) {
                n.put("previousName", previousName);
            }
            if (resend != null) {
                n.put("resend", resend);
            }
            return n;
        }
    }
}
