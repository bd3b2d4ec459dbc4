package io.cohortsync.segment;

import io.cohortsync.domain.DependencyUnavailableException;

/**
 * The Segment secret holds no write key for a connection: a fresh stack's placeholder
 * ({@code {"writeKey":""}}, template.yaml) until the operator stores the key. Retryable like any
 * unavailable dependency, so no delta is dropped for it and none is sent with a made-up key.
 */
public final class WriteKeyNotSetException extends DependencyUnavailableException {
    private final String reason;

    public WriteKeyNotSetException(String connection) {
        super("SecretsManager", reasonFor(connection), null);
        this.reason = reasonFor(connection);
    }

    /** What to log: what is missing and how to fix it, never any part of the secret. */
    public String reason() {
        return reason;
    }

    private static String reasonFor(String connection) {
        return "Segment write key not set for connection '" + connection
                + "': store it in the Segment secret with put-secret-value (README Deploy, step 4)";
    }
}
