package io.cohortsync.send;

import java.util.Objects;

/**
 * One SQS record as the sender needs it, whatever delivered it.
 *
 * @param messageId    the SQS message id (what a batch item failure names)
 * @param body         the message body (a delta message, or poison)
 * @param receiveCount SQS's ApproximateReceiveCount (1 on first delivery)
 */
public record QueuedRecord(String messageId, String body, int receiveCount) {
    public QueuedRecord {
        Objects.requireNonNull(messageId, "messageId");
        Objects.requireNonNull(body, "body");
    }
}
