package io.cohortsync.aws;

import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Duration;
import java.util.List;

/**
 * {@link DeltaQueue} on SQS: deltas packed into messages of at most {@link DeltaQueue#MAX_MESSAGE_BYTES},
 * sent by {@link SqsBatchSender}. If any entry still fails after its retries the whole call fails
 * retryably, so nothing is committed without its delta queued.
 */
public final class SqsDeltaQueue implements DeltaQueue, DelayedDeltaQueue {
    private final SqsBatchSender sender;
    private final String queueUrl;

    public SqsDeltaQueue(SqsClient sqs, String queueUrl) {
        this.sender = new SqsBatchSender(sqs);
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
        checkDelay(delay);
        if (!deltas.isEmpty()) {
            sendBodies(DeltaCodec.encode(deltas, MAX_MESSAGE_BYTES), delay);
        }
    }

    /** Sends ready-made bodies with the given delay (0 overrides the queue's default). */
    public void sendBodies(List<String> bodies, Duration delay) {
        int seconds = (int) delay.toSeconds();
        sender.sendAll(queueUrl, bodies.stream().map(b -> SqsBatchSender.Entry.delayed(b, seconds)).toList(),
                "SendMessageBatch");
    }

    /** @throws IllegalArgumentException for a delay SQS refuses */
    static void checkDelay(Duration delay) {
        if (delay.isNegative() || delay.toSeconds() > MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("delay must be 0.." + MAX_DELAY_SECONDS + " s, was " + delay);
        }
    }
}
