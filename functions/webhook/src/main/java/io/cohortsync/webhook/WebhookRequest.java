package io.cohortsync.webhook;

/**
 * What the webhook needs from an HTTP request, whatever front door delivered it.
 *
 * @param connection the connection the URL names ({@code /mixpanel} = the default)
 */
record WebhookRequest(String authorization, byte[] body, String requestId, String connection) {
    WebhookRequest(String authorization, byte[] body, String requestId) {
        this(authorization, body, requestId, io.cohortsync.domain.CohortRef.DEFAULT_CONNECTION);
    }
}
