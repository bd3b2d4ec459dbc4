package io.cohortsync.reconciler;

import java.util.Objects;

/**
 * One SQS record of the reconcile queue.
 *
 * @param messageId    what a batch item failure names
 * @param body         a reconcile job, or poison
 * @param receiveCount SQS's ApproximateReceiveCount (1 on first delivery)
 */
record QueuedJob(String messageId, String body, int receiveCount) {
    QueuedJob {
        Objects.requireNonNull(messageId, "messageId");
        Objects.requireNonNull(body, "body");
    }
}
