package io.cohortsync.aws;

import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link DeltaQueue} on SQS: deltas packed into messages of at most {@link #MAX_MESSAGE_BYTES}, sent
 * with SendMessageBatch (at most 10 entries and 256 KiB a call). Entries SQS reports failed are
 * retried a few times; if any still fails the whole call fails retryably, so nothing is committed
 * without its delta queued.
 */
public final class SqsDeltaQueue implements DeltaQueue, DelayedDeltaQueue {
    /** SQS's classic 256 KiB message limit, with room for the batch envelope. */
    public static final int MAX_MESSAGE_BYTES = 250_000;
    static final int MAX_BATCH_BYTES = 262_144;
    static final int MAX_BATCH_ENTRIES = 10;
    public static final int MAX_DELAY_SECONDS = 900;
    private static final int ENTRY_ROUNDS = 3;

    private final SqsClient sqs;
    private final String queueUrl;

    public SqsDeltaQueue(SqsClient sqs, String queueUrl) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
    }

    @Override
    public void enqueue(List<Delta> deltas) {
        if (!deltas.isEmpty()) {
            sendBodies(DeltaCodec.encode(deltas, MAX_MESSAGE_BYTES), Duration.ZERO);
        }
    }

    /** SQS delays a message by at most 15 minutes; longer delays are refused, not capped. */
    @Override
    public void enqueueDelayed(List<Delta> deltas, Duration delay) {
        if (delay.isNegative() || delay.toSeconds() > MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("delay must be 0.." + MAX_DELAY_SECONDS + " s, was " + delay);
        }
        if (!deltas.isEmpty()) {
            sendBodies(DeltaCodec.encode(deltas, MAX_MESSAGE_BYTES), delay);
        }
    }

    /** Sends ready-made bodies, optionally delayed (the sender re-queues deltas that must wait). */
    public void sendBodies(List<String> bodies, Duration delay) {
        List<String> batch = new ArrayList<>();
        int batchBytes = 0;
        for (String body : bodies) {
            int size = body.getBytes(StandardCharsets.UTF_8).length;
            if (!batch.isEmpty() && (batch.size() == MAX_BATCH_ENTRIES || batchBytes + size > MAX_BATCH_BYTES)) {
                sendBatch(batch, delay);
                batch = new ArrayList<>();
                batchBytes = 0;
            }
            batch.add(body);
            batchBytes += size;
        }
        if (!batch.isEmpty()) {
            sendBatch(batch, delay);
        }
    }

    private void sendBatch(List<String> bodies, Duration delay) {
        List<SendMessageBatchRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < bodies.size(); i++) {
            entries.add(SendMessageBatchRequestEntry.builder().id("d" + i).messageBody(bodies.get(i))
                    .delaySeconds((int) delay.toSeconds()).build());
        }
        for (int round = 1; ; round++) {
            SendMessageBatchResponse response;
            try {
                List<SendMessageBatchRequestEntry> send = entries;
                response = sqs.sendMessageBatch(b -> b.queueUrl(queueUrl).entries(send));
            } catch (SdkException e) {
                throw AwsErrors.unavailable("SQS", "SendMessageBatch", e);
            }
            if (!response.hasFailed() || response.failed().isEmpty()) {
                return;
            }
            var failedIds = response.failed().stream().map(f -> f.id()).toList();
            if (round == ENTRY_ROUNDS) {
                String codes = String.join(",", response.failed().stream().map(f -> f.code()).distinct().toList());
                throw new DependencyUnavailableException("SQS", failedIds.size()
                        + " SendMessageBatch entries kept failing (" + codes + ")", null);
            }
            entries = entries.stream().filter(e -> failedIds.contains(e.id())).toList();
        }
    }
}
