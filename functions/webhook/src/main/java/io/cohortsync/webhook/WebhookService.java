package io.cohortsync.webhook;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;
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
    private final SyncHistory history;
    private final ReconcileStore progress;
    private final WebhookTelemetry telemetry;

    WebhookService(BasicAuthenticator authenticator, MixpanelRequestParser parser, CohortSyncService sync,
                   int maxBodyBytes, JsonLog log, Supplier<Metrics> metrics, SyncHistory history,
                   ReconcileStore progress, Clock clock) {
        this.progress = progress;
        this.authenticator = authenticator;
        this.parser = parser;
        this.sync = sync;
        this.maxBodyBytes = maxBodyBytes;
        this.history = history;
        this.telemetry = new WebhookTelemetry(log, metrics, history, clock);
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
        // Mixpanel expects its action echoed in every answer, failures included. Only the action is read
        // before the credentials are checked: a bounded streaming read of the top-level keys, never the export.
        String sentAction = parser.sentAction(request.body(), maxBodyBytes);
        WebhookOutcome outcome = apply(request, sentAction);
        telemetry.report(outcome, (System.nanoTime() - started) / 1e6);
        return outcome.response();
    }

    private WebhookOutcome apply(WebhookRequest request, String sentAction) {
        CohortExport export = null;
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
            SyncResult result = sync.apply(export);
            return WebhookOutcome.answered(request, sentAction, export, result,
                    MixpanelResponse.success(export.action().wireName()));
        } catch (InvalidExportException e) {
            return failed(request, sentAction, export, 400,
                    e.sentAction() != null ? e.sentAction() : echo(export, sentAction), e.getMessage());
        } catch (InvalidRequestException e) {
            return failed(request, sentAction, export, 400, echo(export, sentAction), e.getMessage());
        } catch (UnknownConnectionException e) {
            // The URL in Mixpanel is wrong: a human must fix it (404 pauses the sync). The name is not echoed: it is input.
            return failed(request, sentAction, export, 404, echo(export, sentAction),
                    "unknown connection: check the webhook URL");
        } catch (UnauthorizedException e) {
            return failed(request, sentAction, export, 401, echo(export, sentAction), "invalid or missing credentials")
                    .refused(e.getMessage());
        } catch (MigrationPendingException e) {
            // Transient by design: the reconciler is moving this cohort's old state; Mixpanel retries a 503.
            return failed(request, sentAction, export, 503, echo(export, sentAction), e.getMessage()).whileMigrating();
        } catch (DependencyUnavailableException e) {
            return failed(request, sentAction, export, 503, echo(export, sentAction),
                    "temporarily unavailable (" + e.dependency() + "); please retry").unavailable(e);
        } catch (RuntimeException e) {
            return failed(request, sentAction, export, 500, echo(export, sentAction),
                    "internal error (request " + request.requestId() + "); please retry").bug(e);
        }
    }

    private static WebhookOutcome failed(WebhookRequest request, String sentAction, CohortExport export, int status,
                                         String action, String message) {
        return WebhookOutcome.answered(request, sentAction, export, null, MixpanelResponse.failure(status, action,
                message));
    }

    /** {@code status} is reserved for {@code GET /mixpanel/status}. */
    static boolean isConnectionName(String connection) {
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
}
