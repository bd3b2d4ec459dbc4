package io.cohortsync.webhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.Shards;

import java.util.List;

/** The answer to {@code GET /mixpanel/status}: a status code and a JSON body. */
record StatusResponse(int statusCode, String body) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static StatusResponse error(int status, String message) {
        ObjectNode n = MAPPER.createObjectNode();
        n.putObject("error").put("message", message).put("code", status);
        return new StatusResponse(status, n.toString());
    }

    static StatusResponse history(CohortRef cohort, List<HistoryEntry> entries, List<ReconcileStore.Summary> reconciles) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("projectId", cohort.projectId());
        n.put("cohortId", cohort.cohortId());
        ArrayNode list = n.putArray("history");
        for (HistoryEntry e : entries) {
            ObjectNode o = list.addObject();
            o.put("observedAt", e.observedAt().toString());
            o.put("requestId", e.requestId());
            o.put("action", e.action());
            if (e.sessionId() != null) {
                o.put("sessionId", e.sessionId());
            }
            o.put("page", e.page());
            o.put("totalPages", e.totalPages());
            o.put("members", e.membersReceived());
            ObjectNode skipped = o.putObject("skipped");
            e.skipped().forEach(skipped::put);
            if (e.anonymous() > 0) {
                o.put("anonymous", e.anonymous());
            }
            o.put("enters", e.enters());
            o.put("exits", e.exits());
            o.put("unchanged", e.unchanged());
            o.put("renamed", e.renamed());
            o.put("session", e.session());
            o.put("sessionExits", e.sessionExits());
            o.put("status", e.status());
            o.put("outcome", e.outcome());
            o.put("durationMs", e.durationMs());
            o.put("sent", e.sent());
            o.put("rejected", e.rejected());
            o.put("wouldSend", e.wouldSend());
            if (e.integrationId() != null) {
                o.put("integrationId", e.integrationId());
            }
            if (!e.unknownFields().isEmpty()) {
                e.unknownFields().forEach(o.putArray("unknownFields")::add);
            }
        }
        ArrayNode work = n.putArray("reconcile");
        for (ReconcileStore.Summary r : reconciles) {
            ObjectNode o = work.addObject();
            o.put("work", r.kind());
            o.put("generation", r.generation());
            if (r.sessionId() != null) {
                o.put("sessionId", r.sessionId());
            }
            o.put("phase", r.phase().name());
            int shards = "MIGRATE".equals(r.kind()) ? 1 : Shards.COUNT;
            o.put("shards", shards);
            if ("EXIT".equals(r.kind())) {
                o.put("shardsCounted", r.shardsCounted());
                o.put("members", r.members());
                o.put("exitsFound", r.matched());
                o.put("exits", r.changed());
            } else if ("RENAME".equals(r.kind())) {
                o.put("renamed", r.changed());
            } else {
                o.put("migrated", r.changed());
            }
            o.put("shardsDone", r.shardsDone());
            o.put("remainingShards", shards - r.shardsDone());
            o.put("scanned", r.scanned());
            o.put("done", r.phase() == ReconcileStore.Phase.DONE || r.phase() == ReconcileStore.Phase.HELD);
        }
        return new StatusResponse(200, n.toString());
    }
}
