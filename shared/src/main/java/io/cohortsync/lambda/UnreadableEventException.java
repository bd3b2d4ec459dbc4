package io.cohortsync.lambda;

/**
 * An event that is not what the function's trigger sends (not JSON, or not the expected shape). Thrown to the
 * runtime, which reports it on the invocation's {@code /error} with this class as the error type: a platform fault
 * (or a manual invoke with the wrong payload), never a user's data. The message never quotes the event.
 */
public final class UnreadableEventException extends RuntimeException {
    public UnreadableEventException(String message) {
        super(message);
    }
}
