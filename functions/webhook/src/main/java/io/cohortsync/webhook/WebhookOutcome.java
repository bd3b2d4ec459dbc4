package io.cohortsync.webhook;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.mixpanel.MixpanelResponse;
import io.cohortsync.sync.SyncResult;

/**
 * What one webhook call came to, for {@link WebhookTelemetry}: the answer, and what led to it.
 *
 * @param export        the parsed export (null: the call failed before it was parsed)
 * @param result        what the sync core changed (null: it did not complete)
 * @param authFailure   why the credentials were refused (null: they were not)
 * @param migrating     the cohort's old-layout state was being migrated (503)
 * @param unavailable   the dependency failure that made it a 503 (null: none)
 * @param bug           an exception of ours that made it a 500 (null: none)
 */
record WebhookOutcome(WebhookRequest request, String sentAction, CohortExport export, SyncResult result,
                      MixpanelResponse response, String authFailure, boolean migrating,
                      DependencyUnavailableException unavailable, RuntimeException bug) {

    static WebhookOutcome answered(WebhookRequest request, String sentAction, CohortExport export, SyncResult result,
                                   MixpanelResponse response) {
        return new WebhookOutcome(request, sentAction, export, result, response, null, false, null, null);
    }

    WebhookOutcome refused(String reason) {
        return new WebhookOutcome(request, sentAction, export, result, response, reason, migrating, unavailable, bug);
    }

    WebhookOutcome whileMigrating() {
        return new WebhookOutcome(request, sentAction, export, result, response, authFailure, true, unavailable, bug);
    }

    WebhookOutcome unavailable(DependencyUnavailableException e) {
        return new WebhookOutcome(request, sentAction, export, result, response, authFailure, migrating, e, bug);
    }

    WebhookOutcome bug(RuntimeException e) {
        return new WebhookOutcome(request, sentAction, export, result, response, authFailure, migrating, unavailable, e);
    }
}
