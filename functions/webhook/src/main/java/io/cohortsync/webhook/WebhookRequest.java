package io.cohortsync.webhook;

/** What the webhook needs from an HTTP request, whatever front door delivered it. */
record WebhookRequest(String authorization, byte[] body, String requestId) {
}
