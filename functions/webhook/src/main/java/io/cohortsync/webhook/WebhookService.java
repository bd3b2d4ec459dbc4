package io.cohortsync.webhook;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.InvalidRequestException;
import io.cohortsync.domain.UnauthorizedException;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.mixpanel.InvalidExportException;
import io.cohortsync.mixpanel.MixpanelRequestParser;
import io.cohortsync.mixpanel.MixpanelResponse;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.sync.CohortSyncService;
import io.cohortsync.sync.SyncResult;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Authenticate, parse, apply, answer. This is the one place where an exception becomes an HTTP status:
 * 400 only for what a human must fix (it pauses the Mixpanel sync), 401 for credentials, 503 for
 * anything transient and 500 for our own bugs (both retried by Mixpanel).
 */
public final class WebhookService {
    private final BasicAuthenticator authenticator;
    private final MixpanelRequestParser parser;
    private final CohortSyncService sync;
    private final int maxBodyBytes;
    private final JsonLog log;
    private final Supplier<Metrics> metrics;

    WebhookService(BasicAuthenticator authenticator, MixpanelRequestParser parser, CohortSyncService sync,
                   int maxBodyBytes, JsonLog log, Supplier<Metrics> metrics) {
        this.authenticator = authenticator;
        this.parser = parser;
        this.sync = sync;
        this.maxBodyBytes = maxBodyBytes;
        this.log = log;
        this.metrics = metrics;
    }

    MixpanelResponse handle(WebhookRequest request) {
        long started = System.nanoTime();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("requestId", request.requestId());
        fields.put("bodyBytes", request.body().length);
        CohortExport export = null;
        SyncResult result = null;
        MixpanelResponse response;
        try {
            authenticator.authenticate(request.authorization());
            if (request.body().length > maxBodyBytes) {
                throw new InvalidRequestException("body of " + request.body().length + " bytes exceeds the "
                        + maxBodyBytes + "-byte limit");
            }
            export = parser.parse(request.body());
            describe(export, fields);
            result = sync.apply(export);
            response = MixpanelResponse.success(export.action().wireName());
        } catch (InvalidExportException e) {
            response = MixpanelResponse.failure(400, e.sentAction() != null ? e.sentAction() : "unknown", e.getMessage());
        } catch (InvalidRequestException e) {
            response = MixpanelResponse.failure(400, actionOf(export), e.getMessage());
        } catch (UnauthorizedException e) {
            fields.put("authFailure", e.getMessage());
            response = MixpanelResponse.failure(401, actionOf(export), "invalid or missing credentials");
        } catch (DependencyUnavailableException e) {
            fields.put("dependency", e.dependency());
            fields.put("error", e.getMessage());
            response = MixpanelResponse.failure(503, actionOf(export),
                    "temporarily unavailable (" + e.dependency() + "); please retry");
        } catch (RuntimeException e) {
            // Only the class and our own frames: messages of unexpected exceptions may quote input.
            fields.put("exception", e.getClass().getName());
            fields.put("at", e.getStackTrace().length > 0 ? e.getStackTrace()[0].toString() : "");
            response = MixpanelResponse.failure(500, actionOf(export),
                    "internal error (request " + request.requestId() + "); please retry");
        }
        double millis = (System.nanoTime() - started) / 1e6;
        record(response, export, result, millis, fields);
        return response;
    }

    private static String actionOf(CohortExport export) {
        return export == null ? "unknown" : export.action().wireName();
    }

    private static void describe(CohortExport export, Map<String, Object> fields) {
        fields.put("action", export.action().wireName());
        fields.put("projectId", export.cohort().projectId());
        fields.put("cohortId", export.cohort().cohortId());
        export.session().ifPresent(s -> fields.put("sessionId", s));
        fields.put("page", export.page());
        fields.put("totalPages", export.totalPages());
        fields.put("membersReceived", export.membersReceived());
        fields.put("membersSkipped", export.skippedCount());
        if (!export.skipped().isEmpty()) {
            fields.put("skippedByReason", export.skipped());
        }
    }

    private void record(MixpanelResponse response, CohortExport export, SyncResult result, double millis,
                        Map<String, Object> fields) {
        fields.put("status", response.statusCode());
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        int status = response.statusCode();
        boolean held = result != null && result.session() == SyncResult.SessionStatus.HELD;
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
                .count("Enters", result == null ? 0 : result.enters())
                .count("Exits", result == null ? 0 : result.exits())
                .count("Unchanged", result == null ? 0 : result.unchanged())
                .count("DeltasQueued", result == null ? 0 : result.deltasQueued())
                .count("HeldSessions", held ? 1 : 0);
        if (result != null) {
            fields.put("enters", result.enters());
            fields.put("exits", result.exits());
            fields.put("unchanged", result.unchanged());
            fields.put("deltasQueued", result.deltasQueued());
            if (result.renamed() > 0) {
                fields.put("renamed", result.renamed());
            }
            fields.put("session", result.session().name());
            if (result.session() != SyncResult.SessionStatus.NONE) {
                fields.put("pagesReceived", result.pagesReceived());
                fields.put("sessionExits", result.sessionExits());
            }
        }
        if (!response.isSuccess()) {
            fields.put("errorMessage", response.errorMessage());
        }
        fields.put("outcome", held ? "held" : response.isSuccess() ? "success" : "failure");
        String message = held ? "full sync held: too many exits" : "webhook handled";
        if (status >= 500 || held) {
            log.error(message, fields);
        } else if (status >= 400) {
            log.warn(message, fields);
        } else {
            log.info(message, fields);
        }
        m.flush();
    }
}
