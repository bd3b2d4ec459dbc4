package io.cohortsync.aws;

import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link DeadLetterQueue} on SQS: each letter is one message whose body is replayable as is, with
 * String message attributes {@code reason} and (when known) {@code sourceMessageId}, sent by
 * {@link SqsBatchSender} (attributes count toward its limits); if any entry still fails after its
 * retries the whole call fails retryably.
 */
public final class SqsDeadLetterQueue implements DeadLetterQueue {
    public static final String REASON = "reason";
    public static final String SOURCE_MESSAGE_ID = "sourceMessageId";
    /** Attributes count toward the 256 KiB message limit; a reason needs no more than this. */
    static final int MAX_REASON_CHARS = 1_000;

    private final SqsBatchSender sender;
    private final String queueUrl;

    public SqsDeadLetterQueue(SqsClient sqs, String queueUrl) {
        this.sender = new SqsBatchSender(sqs);
        this.queueUrl = queueUrl;
    }

    @Override
    public void send(List<DeadLetter> letters) {
        sender.sendAll(queueUrl, letters.stream().map(SqsDeadLetterQueue::entry).toList(), "SendMessageBatch (DLQ)");
    }

    private static SqsBatchSender.Entry entry(DeadLetter letter) {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put(REASON, truncate(letter.reason()));
        if (!letter.sourceMessageId().isEmpty()) {
            attributes.put(SOURCE_MESSAGE_ID, letter.sourceMessageId());
        }
        return new SqsBatchSender.Entry(letter.body(), attributes, null);
    }

    private static String truncate(String reason) {
        return reason.length() <= MAX_REASON_CHARS ? reason : reason.substring(0, MAX_REASON_CHARS - 1) + "…";
    }
}
