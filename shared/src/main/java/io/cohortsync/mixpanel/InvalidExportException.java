package io.cohortsync.mixpanel;

import io.cohortsync.domain.InvalidRequestException;

/** A webhook body that is not a usable Mixpanel cohort export; the message names the problem. */
public class InvalidExportException extends InvalidRequestException {
    private final String sentAction;

    public InvalidExportException(String message, String sentAction) {
        super(message);
        this.sentAction = sentAction;
    }

    public InvalidExportException(String message, String sentAction, Throwable cause) {
        super(message, cause);
        this.sentAction = sentAction;
    }

    /** The {@code action} the body carried, when it was a plausible action name; null otherwise. */
    public String sentAction() {
        return sentAction;
    }
}
