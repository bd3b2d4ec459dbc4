package io.cohortsync.webhook;

import io.cohortsync.domain.CohortRef;

/**
 * What the webhook needs from an HTTP request, whatever front door delivered it.
 *
 * @param connection the connection the URL names ({@code /mixpanel} = the default)
 */
record WebhookRequest(String authorization, byte[] body, String requestId, String connection) {
    WebhookRequest(String authorization, byte[] body, String requestId) {
        this(authorization, body, requestId, CohortRef.DEFAULT_CONNECTION);
    }
}
