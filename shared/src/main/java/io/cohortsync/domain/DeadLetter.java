package io.cohortsync.domain;

import java.util.Objects;

/**
 * A message we give up on, with why: what lands in the dead-letter queue so an operator can read the
 * reason and replay the body onto the delta queue.
 *
 * @param body            the message body (a delta message, or the undecodable body verbatim)
 * @param reason          why it was given up on; may quote the body, so it goes to the queue only, never a log
 * @param sourceMessageId the queue message it came from, or empty when it gathers deltas of several
 */
public record DeadLetter(String body, String reason, String sourceMessageId) {
    public DeadLetter {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(sourceMessageId, "sourceMessageId");
        if (reason == null || reason.isBlank()) {
            throw new IllegalArgumentException("reason must not be blank");
        }
    }
}
