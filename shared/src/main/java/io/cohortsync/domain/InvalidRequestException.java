package io.cohortsync.domain;

/** The request can never succeed as sent: a human must fix it (HTTP 400, pauses the Mixpanel sync). */
public class InvalidRequestException extends RuntimeException {
    public InvalidRequestException(String message) {
        super(message);
    }

    public InvalidRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
