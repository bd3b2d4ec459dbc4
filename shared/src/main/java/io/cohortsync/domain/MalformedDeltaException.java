package io.cohortsync.domain;

/** A queue message that is not a valid delta message: it can never succeed (poison). */
public class MalformedDeltaException extends RuntimeException {
    public MalformedDeltaException(String message, Throwable cause) {
        super(message, cause);
    }
}
