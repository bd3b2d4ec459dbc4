package io.cohortsync.bench;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Plays Lambda's SQS event source mapping as the template configures it (the delta queue's
 * {@code BatchSize: 10}, {@code MaximumBatchingWindowInSeconds: 5}, {@code ReportBatchItemFailures};
 * the reconcile queue's batch size is {@link Pipeline#RECONCILE_BATCH_SIZE}): gathers up to a batch
 * of messages, waiting at most the batching window once the first arrived, and after the invocation
 * deletes what completed in one DeleteMessageBatch call.
 * <p>An approximation of what AWS's pollers do and bill: they long-poll continuously (also while the
 * queue is idle, a fixed monthly cost that does not grow with changes), and their exact call pattern
 * is not documented. Failed records come back here after a second instead of the 360 s visibility
 * timeout (none are expected; they are counted).
 */
final class EventSourceMapping {
    static final int BATCH_SIZE = 10;
    static final Duration BATCHING_WINDOW = Duration.ofSeconds(5);

    private final SqsClient sqs;
    private final String queueUrl;
    private final int batchSize;
    private final Duration batchingWindow;
    private long failedRecords;

    EventSourceMapping(SqsClient sqs, String queueUrl, int batchSize, Duration batchingWindow) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
        this.batchSize = batchSize;
        this.batchingWindow = batchingWindow;
    }

    /** One gathered batch: empty when nothing arrived within {@code wait}. */
    List<Message> gather(Duration wait) {
        List<Message> batch = new ArrayList<>(receive(batchSize, (int) Math.max(0, wait.toSeconds())));
        if (batch.isEmpty()) {
            return batch;
        }
        long windowEnds = System.nanoTime() + batchingWindow.toNanos();
        while (batch.size() < batchSize) {
            long left = windowEnds - System.nanoTime();
            if (left <= 0) {
                break;
            }
            List<Message> more = receive(batchSize - batch.size(), (int) Math.min(20, Math.ceil(left / 1e9)));
            if (more.isEmpty()) {
                break; // the long poll waited out the window
            }
            batch.addAll(more);
        }
        return batch;
    }

    private List<Message> receive(int max, int waitSeconds) {
        return sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(max).waitTimeSeconds(waitSeconds)
                .messageSystemAttributeNames(MessageSystemAttributeName.ALL).messageAttributeNames("All")).messages();
    }

    /** Deletes the records that completed; failed ones become visible again shortly. */
    void settle(List<Message> batch, SQSBatchResponse response) {
        Set<String> failed = response == null || response.getBatchItemFailures() == null ? Set.of()
                : response.getBatchItemFailures().stream().map(SQSBatchResponse.BatchItemFailure::getItemIdentifier)
                .collect(Collectors.toSet());
        List<DeleteMessageBatchRequestEntry> done = new ArrayList<>();
        for (Message m : batch) {
            if (failed.contains(m.messageId())) {
                failedRecords++;
                sqs.changeMessageVisibility(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()).visibilityTimeout(1));
            } else {
                done.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(done.size()))
                        .receiptHandle(m.receiptHandle()).build());
            }
        }
        if (!done.isEmpty()) {
            sqs.deleteMessageBatch(b -> b.queueUrl(queueUrl).entries(done));
        }
    }

    long failedRecords() {
        return failedRecords;
    }
}
