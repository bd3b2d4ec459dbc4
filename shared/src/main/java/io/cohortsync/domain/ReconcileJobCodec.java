package io.cohortsync.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * The reconcile queue's message format (README "Full syncs, renames and the reconciler"):
 * <pre>{"schema":"cohort-sync.reconcile/1","kind":"EXIT_COUNT","projectId":"2195193","cohortId":"1457721",
 *  "generation":4,"sessionId":"7f0d…","shard":3,"queuedAt":"2026-12-01T10:00:00Z"}</pre>
 * plus {@code connection} for a non-default connection, and {@code ids} (the distinct ids to judge
 * again) on a RECHECK only: like the delta queue's messages, those carry user ids; logs never do.
 */
public final class ReconcileJobCodec {
    public static final String SCHEMA = "cohort-sync.reconcile/1";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ReconcileJobCodec() {
    }

    public static String encode(ReconcileJob job) {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("schema", SCHEMA);
        json.put("kind", job.kind().name());
        if (!job.cohort().isDefaultConnection()) {
            json.put("connection", job.cohort().connection());
        }
        json.put("projectId", job.cohort().projectId());
        json.put("cohortId", job.cohort().cohortId());
        json.put("generation", job.generation());
        if (job.sessionId() != null) {
            json.put("sessionId", job.sessionId());
        }
        json.put("shard", job.shard());
        json.put("queuedAt", job.queuedAt().toString());
        if (!job.ids().isEmpty()) {
            job.ids().forEach(json.putArray("ids")::add);
        }
        return json.toString();
    }

    /** @throws MalformedDeltaException if the body is not a reconcile job (poison: it can never succeed) */
    public static ReconcileJob decode(String body) {
        JsonNode json;
        try {
            json = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedDeltaException("not JSON", null);
        }
        if (json == null || !json.isObject() || !SCHEMA.equals(json.path("schema").asText())) {
            throw new MalformedDeltaException("schema is not " + SCHEMA, null);
        }
        try {
            ReconcileJob.Kind kind = ReconcileJob.Kind.valueOf(text(json, "kind"));
            String connection = json.hasNonNull("connection") ? text(json, "connection")
                    : CohortRef.DEFAULT_CONNECTION;
            CohortRef cohort = new CohortRef(connection, text(json, "projectId"), text(json, "cohortId"));
            // Whole numbers only: canConvertTo* alone accepts 4.5 (and asLong() would truncate it).
            JsonNode generation = json.path("generation");
            JsonNode shard = json.path("shard");
            if (!generation.isIntegralNumber() || !generation.canConvertToLong()
                    || !shard.isIntegralNumber() || !shard.canConvertToInt()) {
                throw new MalformedDeltaException("generation and shard must be whole numbers", null);
            }
            List<String> ids = new ArrayList<>();
            if (json.has("ids")) {
                if (!json.get("ids").isArray()) {
                    throw new MalformedDeltaException("ids must be an array of strings", null);
                }
                for (JsonNode id : json.get("ids")) {
                    if (!id.isTextual()) {
                        throw new MalformedDeltaException("ids must be an array of strings", null);
                    }
                    ids.add(id.asText());
                }
            }
            return new ReconcileJob(kind, cohort, generation.asLong(),
                    json.hasNonNull("sessionId") ? text(json, "sessionId") : null, shard.asInt(),
                    Instant.parse(text(json, "queuedAt")), ids);
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw new MalformedDeltaException("invalid reconcile job: " + e.getMessage(), null);
        }
    }

    private static String text(JsonNode json, String field) {
        JsonNode v = json.get(field);
        if (v == null || !v.isTextual()) {
            throw new MalformedDeltaException(field + " is missing or not a string", null);
        }
        return v.asText();
    }
}
