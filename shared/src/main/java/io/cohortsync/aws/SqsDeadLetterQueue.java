package io.cohortsync.aws;

import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link DeadLetterQueue} on SQS: each letter is one message whose body is replayable as is, with
 * String message attributes {@code reason} and (when known) {@code sourceMessageId}. Sent with
 * SendMessageBatch (at most 10 entries and 256 KiB a call, attributes included); entries SQS reports
 * failed are retried a few times, then the whole call fails retryably.
 */
public final class SqsDeadLetterQueue implements DeadLetterQueue {
    public static final String REASON = "reason";
    public static final String SOURCE_MESSAGE_ID = "sourceMessageId";
    /** Attributes count toward the 256 KiB message limit; a reason needs no more than this. */
    static final int MAX_REASON_CHARS = 1_000;
    private static final int ENTRY_ROUNDS = 3;

    private final SqsClient sqs;
    private final String queueUrl;

    public SqsDeadLetterQueue(SqsClient sqs, String queueUrl) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
    }

    @Override
    public void send(List<DeadLetter> letters) {
        List<SendMessageBatchRequestEntry> batch = new ArrayList<>();
        int batchBytes = 0;
        for (DeadLetter letter : letters) {
            int size = size(letter);
            if (!batch.isEmpty() && (batch.size() == SqsDeltaQueue.MAX_BATCH_ENTRIES
                    || batchBytes + size > SqsDeltaQueue.MAX_BATCH_BYTES)) {
                sendBatch(batch);
                batch = new ArrayList<>();
                batchBytes = 0;
            }
            batch.add(entry("l" + batch.size(), letter));
            batchBytes += size;
        }
        if (!batch.isEmpty()) {
            sendBatch(batch);
        }
    }

    private static SendMessageBatchRequestEntry entry(String id, DeadLetter letter) {
        Map<String, MessageAttributeValue> attributes = new HashMap<>();
        attributes.put(REASON, string(truncate(letter.reason())));
        if (!letter.sourceMessageId().isEmpty()) {
            attributes.put(SOURCE_MESSAGE_ID, string(letter.sourceMessageId()));
        }
        return SendMessageBatchRequestEntry.builder().id(id).messageBody(letter.body())
                .messageAttributes(attributes).build();
    }

    /** Body plus attribute names, types and values, as SQS counts them. */
    private static int size(DeadLetter letter) {
        return utf8(letter.body()) + REASON.length() + "String".length() + utf8(truncate(letter.reason()))
                + SOURCE_MESSAGE_ID.length() + "String".length() + utf8(letter.sourceMessageId());
    }

    private void sendBatch(List<SendMessageBatchRequestEntry> entries) {
        List<SendMessageBatchRequestEntry> send = entries;
        for (int round = 1; ; round++) {
            SendMessageBatchResponse response;
            try {
                List<SendMessageBatchRequestEntry> current = send;
                response = sqs.sendMessageBatch(b -> b.queueUrl(queueUrl).entries(current));
            } catch (SdkException e) {
                throw AwsErrors.unavailable("SQS", "SendMessageBatch (DLQ)", e);
            }
            if (!response.hasFailed() || response.failed().isEmpty()) {
                return;
            }
            List<String> failedIds = response.failed().stream().map(f -> f.id()).toList();
            if (round == ENTRY_ROUNDS) {
                String codes = String.join(",", response.failed().stream().map(f -> f.code()).distinct().toList());
                throw new DependencyUnavailableException("SQS", failedIds.size()
                        + " dead-letter entries kept failing (" + codes + ")", null);
            }
            send = send.stream().filter(e -> failedIds.contains(e.id())).toList();
        }
    }

    private static MessageAttributeValue string(String value) {
        return MessageAttributeValue.builder().dataType("String").stringValue(value).build();
    }

    private static String truncate(String reason) {
        return reason.length() <= MAX_REASON_CHARS ? reason : reason.substring(0, MAX_REASON_CHARS - 1) + "…";
    }

    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
