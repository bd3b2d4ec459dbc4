package io.cohortsync.aws;

import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.ReconcileQueue;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Duration;
import java.util.List;

/** {@link ReconcileQueue} on SQS: one small message per job, sent with SendMessageBatch (10 a call). */
public final class SqsReconcileQueue implements ReconcileQueue {
    private final SqsDeltaQueue sender;

    public SqsReconcileQueue(SqsClient sqs, String queueUrl) {
        // The same batching and entry retries as the delta queue; only the bodies differ.
        this.sender = new SqsDeltaQueue(sqs, queueUrl);
    }

    @Override
    public void enqueue(List<ReconcileJob> jobs) {
        enqueueDelayed(jobs, Duration.ZERO);
    }

    @Override
    public void enqueueDelayed(List<ReconcileJob> jobs, Duration delay) {
        SqsDeltaQueue.checkDelay(delay);
        if (!jobs.isEmpty()) {
            sender.sendBodies(jobs.stream().map(ReconcileJobCodec::encode).toList(), delay);
        }
    }
}
