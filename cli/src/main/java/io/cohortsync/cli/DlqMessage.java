package io.cohortsync.cli;

import io.cohortsync.aws.SqsDeadLetterQueue;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.time.Instant;

/**
 * One message read from a dead-letter queue. A delta message's body holds distinct ids (often e-mail
 * addresses): it goes back to a queue, never to the screen, so {@link #toString()} leaves it out.
 *
 * @param reason   the {@code reason} attribute the sender sets; null for a message SQS moved there itself
 *                 (always, on the reconcile dead-letter queue)
 * @param sentAt   when it was first sent (SQS keeps the original time across a redrive); null if unknown
 * @param contents what the body holds, or null when it is not a message of its queue (a delta message,
 *                 a reconcile job)
 */
record DlqMessage(String messageId, String receiptHandle, String body, String reason, Instant sentAt,
                  QueuePair.Contents contents) {

    static DlqMessage of(Message m, QueuePair pair) {
        MessageAttributeValue reason = m.messageAttributes().get(SqsDeadLetterQueue.REASON);
        String sent = m.attributes().get(MessageSystemAttributeName.SENT_TIMESTAMP);
        Instant sentAt = null;
        if (sent != null) {
            try {
                sentAt = Instant.ofEpochMilli(Long.parseLong(sent));
            } catch (NumberFormatException e) {
                // Only used to leave alone what arrived during a replay; unknown means "old".
            }
        }
        return new DlqMessage(m.messageId(), m.receiptHandle(), m.body(),
                reason == null || reason.stringValue() == null || reason.stringValue().isBlank() ? null : reason.stringValue(),
                sentAt, pair.decode(m.body()));
    }

    boolean decodable() {
        return contents != null;
    }

    /** Deltas or jobs it carries (0 when undecodable). */
    int items() {
        return contents == null ? 0 : contents.cohorts().size();
    }

    DlqMessage withReceiptHandle(String handle) {
        return new DlqMessage(messageId, handle, body, reason, sentAt, contents);
    }

    @Override
    public String toString() {
        return "DlqMessage[" + messageId + ", items=" + (contents == null ? "undecodable" : items()) + "]";
    }
}
