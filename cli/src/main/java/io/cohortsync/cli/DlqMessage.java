package io.cohortsync.cli;

import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.time.Instant;
import java.util.List;

/**
 * One message read from the dead-letter queue. Its body holds distinct ids (often e-mail addresses):
 * it goes back to a queue, never to the screen, so {@link #toString()} leaves it out.
 *
 * @param reason the {@code reason} attribute the sender sets; null for a message SQS moved there itself
 * @param sentAt when it was first sent (SQS keeps the original time across a redrive); null if unknown
 * @param deltas the decoded deltas, or null when the body is not a delta message
 */
record DlqMessage(String messageId, String receiptHandle, String body, String reason, Instant sentAt,
                  List<Delta> deltas) {

    static DlqMessage of(Message m) {
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
        List<Delta> deltas;
        try {
            deltas = DeltaCodec.decode(m.body());
        } catch (MalformedDeltaException e) {
            deltas = null;
        }
        return new DlqMessage(m.messageId(), m.receiptHandle(), m.body(),
                reason == null || reason.stringValue() == null || reason.stringValue().isBlank() ? null : reason.stringValue(),
                sentAt, deltas);
    }

    boolean decodable() {
        return deltas != null;
    }

    DlqMessage withReceiptHandle(String handle) {
        return new DlqMessage(messageId, handle, body, reason, sentAt, deltas);
    }

    @Override
    public String toString() {
        return "DlqMessage[" + messageId + ", deltas=" + (deltas == null ? "undecodable" : deltas.size()) + "]";
    }
}
