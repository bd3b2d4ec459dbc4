package io.cohortsync.webhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.HistoryEntry;

import java.util.List;

/** The answer to {@code GET /mixpanel/status}: a status code and a JSON body. */
record StatusResponse(int statusCode, String body) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static StatusResponse error(int status, String message) {
        ObjectNode n = MAPPER.createObjectNode();
        n.putObject("error").put("message", message).put("code", status);
        return new StatusResponse(status, n.toString());
    }

    static StatusResponse history(CohortRef cohort, List<HistoryEntry> entries) {
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
        }
        return new StatusResponse(200, n.toString());
    }
}
