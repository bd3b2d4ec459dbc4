package io.cohortsync.webhook;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.domain.InvalidRequestException;
import io.cohortsync.domain.UnauthorizedException;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.mixpanel.InvalidExportException;
import io.cohortsync.mixpanel.MixpanelRequestParser;
import io.cohortsync.mixpanel.MixpanelResponse;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.sync.CohortSyncService;
import io.cohortsync.sync.MigrationPendingException;
import io.cohortsync.sync.SyncResult;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Authenticate, parse, apply, answer. This is the one place where an exception becomes an HTTP status:
 * 400 only for what a human must fix (it pauses the Mixpanel sync), 401 for credentials, 503 for
 * anything transient and 500 for our own bugs (both retried by Mixpanel).
 */
public final class WebhookService {
    /** Reconciles (exit passes, renames, migrations) shown by {@code GET /mixpanel/status}, newest first. */
    static final int RECONCILES_SHOWN = 5;
    private final BasicAuthenticator authenticator;
    private final MixpanelRequestParser parser;
    private final CohortSyncService sync;
    private final int maxBodyBytes;
    private final JsonLog log;
    private final Supplier<Metrics> metrics;
    private final SyncHistory history;
    private final ReconcileStore progress;
    private final Clock clock;

    WebhookService(BasicAuthenticator authenticator, MixpanelRequestParser parser, CohortSyncService sync,
                   int maxBodyBytes, JsonLog log, Supplier<Metrics> metrics, SyncHistory history,
                   ReconcileStore progress, Clock clock) {
        this.progress = progress;
        this.authenticator = authenticator;
        this.parser = parser;
        this.sync = sync;
        this.maxBodyBytes = maxBodyBytes;
        this.log = log;
        this.metrics = metrics;
        this.history = history;
        this.clock = clock;
    }

    /**
     * {@code GET /mixpanel/status?project=…&cohort=…[&limit=…]}: the cohort's recent sync history, for
     * the same credentials Mixpanel uses ({@code project=}{@value CohortRef#UNKNOWN_PROJECT} for cohorts
     * whose calls carry no project id). 400 for missing parameters, 401 for credentials, 503 when the
     * history cannot be read.
     */
    StatusResponse status(String authorization, Map<String, String> query) {
        try {
            String connection = query.getOrDefault("connection", CohortRef.DEFAULT_CONNECTION);
            if (!isConnectionName(connection)) {
                return StatusResponse.error(404, "unknown connection");
            }
            authenticator.authenticate(authorization, connection);
            String project = query.get("project");
            String cohort = query.get("cohort");
            if (project == null || project.isBlank() || cohort == null || cohort.isBlank()) {
                return StatusResponse.error(400, "query parameters 'project' and 'cohort' are required (project="
                        + CohortRef.UNKNOWN_PROJECT + " for cohorts whose calls carry no mixpanel_project_id)");
            }
            int limit;
            try {
                limit = Math.clamp(Integer.parseInt(query.getOrDefault("limit", "20")), 1, 200);
            } catch (NumberFormatException e) {
                return StatusResponse.error(400, "'limit' must be a number");
            }
            CohortRef ref = new CohortRef(connection, project, cohort);
            return StatusResponse.history(ref, history.recent(ref, limit), progress.recent(ref, RECONCILES_SHOWN));
        } catch (UnknownConnectionException e) {
            return StatusResponse.error(404, "unknown connection");
        } catch (UnauthorizedException e) {
            return StatusResponse.error(401, "invalid or missing credentials");
        } catch (DependencyUnavailableException e) {
            return StatusResponse.error(503, "temporarily unavailable (" + e.dependency() + "); please retry");
        }
    }

    MixpanelResponse handle(WebhookRequest request) {
        long started = System.nanoTime();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("requestId", request.requestId());
        fields.put("bodyBytes", request.body().length);
        // Mixpanel expects its action echoed in every answer, failures included. Only the action is read
        // before the credentials are checked: a bounded streaming read of the top-level keys, never the export.
        String sentAction = parser.sentAction(request.body(), maxBodyBytes);
        CohortExport export = null;
        SyncResult result = null;
        MixpanelResponse response;
        if (!CohortRef.DEFAULT_CONNECTION.equals(request.connection())) {
            fields.put("connection", isConnectionName(request.connection()) ? request.connection() : "invalid");
        }
        try {
            if (!isConnectionName(request.connection())) {
                throw new UnknownConnectionException("(invalid name)");
            }
            authenticator.authenticate(request.authorization(), request.connection());
            if (request.body().length > maxBodyBytes) {
                throw new InvalidRequestException("body of " + request.body().length + " bytes exceeds the "
                        + maxBodyBytes + "-byte limit");
            }
            export = parser.parse(request.body(), request.connection());
            describe(export, fields);
            result = sync.apply(export);
            response = MixpanelResponse.success(export.action().wireName());
        } catch (InvalidExportException e) {
            response = MixpanelResponse.failure(400, e.sentAction() != null ? e.sentAction() : echo(export, sentAction),
                    e.getMessage());
        } catch (InvalidRequestException e) {
            response = MixpanelResponse.failure(400, echo(export, sentAction), e.getMessage());
        } catch (UnknownConnectionException e) {
            // The URL in Mixpanel is wrong: a human must fix it (404 pauses the sync). The name is not echoed: it is input.
            response = MixpanelResponse.failure(404, echo(export, sentAction), "unknown connection: check the webhook URL");
        } catch (UnauthorizedException e) {
            fields.put("authFailure", e.getMessage());
            response = MixpanelResponse.failure(401, echo(export, sentAction), "invalid or missing credentials");
        } catch (MigrationPendingException e) {
            // Transient by design: the reconciler is moving this cohort's old state; Mixpanel retries a 503.
            fields.put("migrating", true);
            response = MixpanelResponse.failure(503, echo(export, sentAction), e.getMessage());
        } catch (DependencyUnavailableException e) {
            fields.put("dependency", e.dependency());
            fields.put("error", e.getMessage());
            response = MixpanelResponse.failure(503, echo(export, sentAction),
                    "temporarily unavailable (" + e.dependency() + "); please retry");
        } catch (RuntimeException e) {
            // Only the class and our own frames: messages of unexpected exceptions may quote input.
            fields.put("exception", e.getClass().getName());
            fields.put("at", e.getStackTrace().length > 0 ? e.getStackTrace()[0].toString() : "");
            response = MixpanelResponse.failure(500, echo(export, sentAction),
                    "internal error (request " + request.requestId() + "); please retry");
        }
        if (export == null && !response.isSuccess()) {
            // A failure before the export was parsed: the log shows what the envelope echoed.
            fields.putIfAbsent("action", response.action());
        }
        double millis = (System.nanoTime() - started) / 1e6;
        record(response, export, result, millis, fields);
        remember(request, response, export, result, millis);
        return response;
    }

    /**
     * One history entry per call whose cohort is known and that changed or decided something, or failed;
     * best effort, never fails the call. Calls that changed nothing (replays, the empty diff Mixpanel
     * sends every interval) are not written: a replay must cost no write (they are in the log).
     */
    private void remember(WebhookRequest request, MixpanelResponse response, CohortExport export, SyncResult result,
                          double millis) {
        if (export == null) {
            return; // no cohort to file it under: the log line has it
        }
        if (response.isSuccess() && result != null && result.enters() + result.exits() + result.renamed() == 0
                && result.session() != SyncResult.SessionStatus.RECONCILING
                && result.session() != SyncResult.SessionStatus.INCOMPLETE) {
            return;
        }
        Map<String, Integer> skipped = new java.util.TreeMap<>();
        export.skipped().forEach((reason, n) -> skipped.put(reason.name(), n));
        try {
            history.record(new HistoryEntry(export.cohort(),
                    result != null && result.observedAt() != null ? result.observedAt() : clock.instant(),
                    request.requestId(), export.action().wireName(), export.sessionId(), export.page(),
                    export.totalPages(), export.membersReceived(), skipped,
                    result == null ? 0 : result.enters(), result == null ? 0 : result.exits(),
                    result == null ? 0 : result.unchanged(), 0,
                    result == null ? "NONE" : result.session().name(), result == null ? 0 : result.sessionExits(),
                    response.statusCode(), response.isSuccess() ? "success" : "failure",
                    Math.round(millis * 10) / 10.0, 0, 0, 0, export.notes().integrationId(),
                    export.notes().unknownFields()));
        } catch (RuntimeException e) {
            // History is for people; the sync itself is durable already. Say so and go on.
            log.warn("sync history not written", Map.of("requestId", request.requestId(),
                    "cohortId", export.cohort().cohortId(), "error", e.getClass().getSimpleName()));
        }
    }

    /** {@code status} is reserved for {@code GET /mixpanel/status}. */
    private static boolean isConnectionName(String connection) {
        return connection != null && CohortRef.CONNECTION_NAME.matcher(connection).matches()
                && !"status".equals(connection);
    }

    /**
     * The action a failure envelope echoes: the parsed export's, else the one the body named (read before
     * authentication, {@link MixpanelRequestParser#sentAction}), else "unknown" (no JSON, no action, or not
     * a plausible action name: never arbitrary input).
     */
    private static String echo(CohortExport export, String sentAction) {
        if (export != null) {
            return export.action().wireName();
        }
        return sentAction != null ? sentAction : "unknown";
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
        if (export.notes().integrationId() != null) {
            fields.put("integrationId", export.notes().integrationId());
        }
        if (!export.notes().unknownFields().isEmpty()) {
            // tolerated, never an error; names only: values could be anything, PII included
            fields.put("unknownFields", export.notes().unknownFields());
        }
    }

    private void record(MixpanelResponse response, CohortExport export, SyncResult result, double millis,
                        Map<String, Object> fields) {
        fields.put("status", response.statusCode());
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        int status = response.statusCode();
        // Holds are decided by the reconciler now (its HeldSessions metric and log line).
        // Every counter on every request, zeros included: alarms then see 0 rather than missing data.
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
}
