package io.cohortsync.webhook;

/**
 * The URL names a connection this deployment has no credentials for (HTTP 404: the webhook URL in
 * Mixpanel is wrong, a human must fix it).
 */
class UnknownConnectionException extends RuntimeException {
    UnknownConnectionException(String connection) {
        super("unknown connection '" + connection + "'");
    }
}
