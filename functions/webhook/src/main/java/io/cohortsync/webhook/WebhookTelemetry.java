package io.cohortsync.webhook;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.mixpanel.MixpanelResponse;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.sync.SyncResult;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The webhook's log line, EMF metrics and sync-history entry, all read from a call's
 * {@link WebhookOutcome}. Every counter on every request, zeros included: alarms then see 0 rather than
 * missing data. Metric names are what template.yaml's alarms and dashboard read.
 */
final class WebhookTelemetry {
    private final JsonLog log;
    private final Supplier<Metrics> metrics;
    private final SyncHistory history;
    private final Clock clock;

    WebhookTelemetry(JsonLog log, Supplier<Metrics> metrics, SyncHistory history, Clock clock) {
        this.log = log;
        this.metrics = metrics;
        this.history = history;
        this.clock = clock;
    }

    void report(WebhookOutcome o, double millis) {
        logAndCount(o, millis);
        remember(o, millis);
    }

    private void logAndCount(WebhookOutcome o, double millis) {
        WebhookRequest request = o.request();
        CohortExport export = o.export();
        SyncResult result = o.result();
        MixpanelResponse response = o.response();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("requestId", request.requestId());
        fields.put("bodyBytes", request.body().length);
        if (!CohortRef.DEFAULT_CONNECTION.equals(request.connection())) {
            fields.put("connection", WebhookService.isConnectionName(request.connection()) ? request.connection()
                    : "invalid");
        }
        if (export != null) {
            describe(export, fields);
        }
        if (o.authFailure() != null) {
            fields.put("authFailure", o.authFailure());
        }
        if (o.migrating()) {
            fields.put("migrating", true);
        }
        if (o.unavailable() != null) {
            fields.put("dependency", o.unavailable().dependency());
            fields.put("error", o.unavailable().getMessage());
        }
        if (o.bug() != null) {
            // Only the class and our own frames: messages of unexpected exceptions may quote input.
            fields.put("exception", o.bug().getClass().getName());
            fields.put("at", o.bug().getStackTrace().length > 0 ? o.bug().getStackTrace()[0].toString() : "");
        }
        if (export == null && !response.isSuccess()) {
            // A failure before the export was parsed: the log shows what the envelope echoed.
            fields.putIfAbsent("action", response.action());
        }
        int status = response.statusCode();
        fields.put("status", status);
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        // Holds are decided by the reconciler now (its HeldSessions metric and log line).
        Metrics m = metrics.get()
                .dimension("Action", export == null ? "unknown" : export.action().wireName());
        m.count("WebhookRequests", 1)
                .count("Webhook2xx", status / 100 == 2 ? 1 : 0)
                .count("Webhook4xx", status / 100 == 4 ? 1 : 0)
                .count("Webhook5xx", status / 100 == 5 ? 1 : 0)
                .count("Webhook401", status == 401 ? 1 : 0)
                .millis("WebhookLatency", millis)
                .count("MembersReceived", export == null ? 0 : export.membersReceived())
                .count("MembersSkipped", export == null ? 0 : export.skippedCount())
                .count("MembersAnonymous", export == null ? 0 : export.anonymousIds().size())
                .count("ProjectIdMissing", export != null && export.notes().projectIdMissing() ? 1 : 0)
                .count("Enters", result == null ? 0 : result.enters())
                .count("Exits", result == null ? 0 : result.exits())
                .count("Unchanged", result == null ? 0 : result.unchanged())
                .count("DeltasQueued", result == null ? 0 : result.deltasQueued())
                .count("ReconcilesQueued", result != null && result.session() == SyncResult.SessionStatus.RECONCILING
                        ? 1 : 0)
                .count("RenamesQueued", result != null && result.renamed() > 0 ? 1 : 0)
                .count("Marked", result == null ? 0 : result.marked())
                .count("Rechecked", result == null ? 0 : result.rechecked())
                .count("RetiredCohortSynced", result != null && (result.unretired() != null || result.retiring()) ? 1 : 0);
        if (result != null && (result.unretired() != null || result.retiring())) {
            // README "Cohorts that stop syncing": a late export is accepted (Mixpanel is the truth and would pause
            // or retry a refusal), never silently.
            Map<String, Object> retired = new LinkedHashMap<>();
            retired.put("projectId", export.cohort().projectId());
            retired.put("cohortId", export.cohort().cohortId());
            retired.put("action", export.action().wireName());
            if (result.unretired() != null) {
                retired.put("retiredAt", result.unretired().toString());
                log.warn("retired cohort synced again: accepted, no longer retired", retired);
            } else {
                log.warn("export while the cohort is being retired: accepted; the users it lists keep their trait "
                        + "and the retirement will not mark the cohort retired", retired);
            }
            fields.put("unretired", result.unretired() != null);
        }
        if (result != null) {
            describe(result, fields);
        }
        if (!response.isSuccess()) {
            fields.put("errorMessage", response.errorMessage());
        }
        fields.put("outcome", response.isSuccess() ? "success" : "failure");
        String message = "webhook handled";
        if (status >= 500) {
            log.error(message, fields);
        } else if (status >= 400) {
            log.warn(message, fields);
        } else {
            log.info(message, fields);
        }
        m.flush();
    }

    private static void describe(CohortExport export, Map<String, Object> fields) {
        fields.put("action", export.action().wireName());
        fields.put("projectId", export.cohort().projectId());
        if (export.notes().projectIdMissing()) {
            fields.put("projectIdMissing", true); // keyed under CohortRef.UNKNOWN_PROJECT
        }
        fields.put("cohortId", export.cohort().cohortId());
        export.session().ifPresent(s -> fields.put("sessionId", s));
        fields.put("page", export.page());
        fields.put("totalPages", export.totalPages());
        fields.put("membersFrom", export.notes().membersFrom().logName());
        fields.put("membersReceived", export.membersReceived());
        fields.put("membersSkipped", export.skippedCount());
        if (!export.skipped().isEmpty()) {
            fields.put("skippedByReason", export.skipped());
        }
        if (!export.anonymousIds().isEmpty()) {
            fields.put("membersAnonymous", export.anonymousIds().size()); // MISSING_USER_ID=anonymous; a count, never ids
        }
        if (export.notes().integrationId() != null) {
            fields.put("integrationId", export.notes().integrationId());
        }
        if (!export.notes().unknownFields().isEmpty()) {
            // tolerated, never an error; names only: values could be anything, PII included
            fields.put("unknownFields", export.notes().unknownFields());
        }
    }

    private static void describe(SyncResult result, Map<String, Object> fields) {
        fields.put("enters", result.enters());
        fields.put("exits", result.exits());
        fields.put("unchanged", result.unchanged());
        fields.put("deltasQueued", result.deltasQueued());
        if (result.renamed() > 0) {
            // The reconciler re-announces the members; this call only stored the new name.
            fields.put("renameQueued", true);
            fields.put("nameVersion", result.renamed());
        }
        if (result.marked() > 0) {
            fields.put("marked", result.marked());
        }
        if (result.rechecked() > 0) {
            // A rename or a completion committed while this call wrote: its users are judged again.
            fields.put("rechecked", result.rechecked());
        }
        fields.put("session", result.session().name());
        if (result.session() != SyncResult.SessionStatus.NONE) {
            fields.put("pagesReceived", result.pagesReceived());
        }
    }

    /**
     * One history entry per call whose cohort is known and that changed or decided something, or failed;
     * best effort, never fails the call. Calls that changed nothing (replays, the empty diff Mixpanel
     * sends every interval) are not written: a replay must cost no write (they are in the log).
     */
    private void remember(WebhookOutcome o, double millis) {
        CohortExport export = o.export();
        SyncResult result = o.result();
        MixpanelResponse response = o.response();
        if (export == null) {
            return; // no cohort to file it under: the log line has it
        }
        if (response.isSuccess() && result != null && result.enters() + result.exits() + result.renamed() == 0
                && result.session() != SyncResult.SessionStatus.RECONCILING
                && result.session() != SyncResult.SessionStatus.INCOMPLETE) {
            return;
        }
        Map<String, Integer> skipped = new TreeMap<>();
        export.skipped().forEach((reason, n) -> skipped.put(reason.name(), n));
        try {
            HistoryEntry.Asked asked = new HistoryEntry.Asked(export.action().wireName(), export.sessionId(),
                    export.page(), export.totalPages(), export.membersReceived(), skipped,
                    export.notes().integrationId(), export.notes().unknownFields(), export.anonymousIds().size());
            HistoryEntry.Changed changed = result == null ? new HistoryEntry.Changed(0, 0, 0, 0, "NONE", 0)
                    : new HistoryEntry.Changed(result.enters(), result.exits(), result.unchanged(), 0,
                    result.session().name(), result.sessionExits());
            history.record(HistoryEntry.ofCall(export.cohort(),
                    result != null && result.observedAt() != null ? result.observedAt() : clock.instant(),
                    o.request().requestId(), asked, changed, new HistoryEntry.Answered(response.statusCode(),
                            response.isSuccess() ? "success" : "failure", Math.round(millis * 10) / 10.0)));
        } catch (RuntimeException e) {
            // History is for people; the sync itself is durable already. Say so and go on.
            log.warn("sync history not written", Map.of("requestId", o.request().requestId(),
                    "cohortId", export.cohort().cohortId(), "error", e.getClass().getSimpleName()));
        }
    }
}
