package io.cohortsync.cli;

import io.cohortsync.aws.SqsDeadLetterQueue;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchResponse;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a dead-letter queue (the delta queue's or the reconcile queue's) without consuming it. Each message read is hidden ({@link #HOLD}) so the
 * scan sees every message once instead of sampling the same ones again, and is made visible again
 * (visibility timeout 0) by {@link #releaseAll()} as soon as the command is done with it, at the
 * latest when the command ends (also on failure). If the process dies, SQS shows them again after
 * {@link #HOLD} by itself: a reader never loses a message, only deletes what it moved.
 */
final class DeadLetterReader implements AutoCloseable {
    /** Long enough for a scan of thousands of messages (~50 ms per 10), short enough if we crash. */
    static final Duration HOLD = Duration.ofMinutes(2);
    /** A long poll asks every SQS server, so an empty answer means "nothing visible"; a short poll samples some. */
    static final int WAIT_SECONDS = 1;
    private static final int MAX_PER_CALL = 10;
    /** Receives that return only messages read before, in a row, before the queue counts as read through. */
    private static final int REPEAT_ATTEMPTS = 3;

    private final SqsClient sqs;
    private final String queueUrl;
    private final QueuePair pair;
    /** Messages read and not yet released or deleted, by message id (with their latest receipt handle). */
    private final Map<String, DlqMessage> held = new LinkedHashMap<>();
    private final Set<String> seen = new HashSet<>();
    private int releaseFailures;

    /** @param pair whose dead-letter queue {@code queueUrl} is: says how its bodies are read */
    DeadLetterReader(SqsClient sqs, String queueUrl, QueuePair pair) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
        this.pair = pair;
    }

    /** Approximate counts: [visible, in flight (someone is reading them)]. */
    long[] depth() {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        return new long[]{Long.parseLong(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "0")),
                Long.parseLong(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE, "0"))};
    }

    /**
     * Up to {@code max} (≤ 10) messages not read before in this run; empty once nothing new is visible.
     * Every message returned is held until released or deleted.
     */
    List<DlqMessage> next(int max) {
        // A message read earlier shows up again only after HOLD (a long run), and is hidden again by this
        // receive. A batch of nothing but such repeats is asked again a few times before it counts as
        // "nothing new", so a few leftovers coming round never end a long replay early.
        for (int attempt = 1; ; attempt++) {
            List<Message> received = receive(max);
            List<DlqMessage> fresh = new ArrayList<>();
            for (Message m : received) {
                if (seen.add(m.messageId())) {
                    DlqMessage message = DlqMessage.of(m, pair);
                    held.put(m.messageId(), message);
                    fresh.add(message);
                } else {
                    // Hold the new receipt handle: the old one no longer works. Counted once only.
                    held.put(m.messageId(), DlqMessage.of(m, pair));
                }
            }
            if (!fresh.isEmpty() || received.isEmpty() || attempt == REPEAT_ATTEMPTS) {
                return fresh;
            }
        }
    }

    private List<Message> receive(int max) {
        int want = Math.min(MAX_PER_CALL, max);
        return sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(want)
                .waitTimeSeconds(WAIT_SECONDS).visibilityTimeout((int) HOLD.toSeconds())
                .messageAttributeNames(SqsDeadLetterQueue.REASON)
                .messageSystemAttributeNames(MessageSystemAttributeName.SENT_TIMESTAMP)).messages();
    }

    /**
     * Deletes messages (they were copied elsewhere). Returns the ids SQS confirmed deleted; the others
     * stay held and are released with the rest.
     */
    Set<String> delete(Collection<DlqMessage> messages) {
        Set<String> deleted = new HashSet<>();
        List<DlqMessage> list = new ArrayList<>(messages);
        for (int from = 0; from < list.size(); from += MAX_PER_CALL) {
            List<DlqMessage> chunk = list.subList(from, Math.min(list.size(), from + MAX_PER_CALL));
            List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                DlqMessage m = held.getOrDefault(chunk.get(i).messageId(), chunk.get(i));
                entries.add(DeleteMessageBatchRequestEntry.builder().id("m" + i).receiptHandle(m.receiptHandle()).build());
            }
            DeleteMessageBatchResponse response = sqs.deleteMessageBatch(b -> b.queueUrl(queueUrl).entries(entries));
            response.successful().forEach(ok -> {
                String id = chunk.get(Integer.parseInt(ok.id().substring(1))).messageId();
                deleted.add(id);
                held.remove(id);
            });
        }
        return deleted;
    }

    /** Makes every held message visible again at once. */
    void releaseAll() {
        List<DlqMessage> list = new ArrayList<>(held.values());
        for (int from = 0; from < list.size(); from += MAX_PER_CALL) {
            List<DlqMessage> chunk = list.subList(from, Math.min(list.size(), from + MAX_PER_CALL));
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id("m" + i)
                        .receiptHandle(chunk.get(i).receiptHandle()).visibilityTimeout(0).build());
            }
            ChangeMessageVisibilityBatchResponse response =
                    sqs.changeMessageVisibilityBatch(b -> b.queueUrl(queueUrl).entries(entries));
            // A message we could not release shows up again by itself when HOLD runs out: counted, not fatal.
            releaseFailures += response.failed().size();
        }
        held.clear();
    }

    /** Messages that stay hidden until {@link #HOLD} runs out because releasing them failed. */
    int releaseFailures() {
        return releaseFailures;
    }

    /** Releases what is still held; a failure here must not hide the command's own outcome. */
    @Override
    public void close() {
        try {
            releaseAll();
        } catch (RuntimeException e) {
            // The messages reappear after HOLD by themselves; the command's result matters more.
            releaseFailures += held.size();
            held.clear();
        }
    }
}
