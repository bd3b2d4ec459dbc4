package io.cohortsync.testkit;

import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;

import java.util.ArrayList;
import java.util.List;

/** Drains a queue in the emulator: every message received and deleted, deltas decoded. */
public final class QueueReader {
    private QueueReader() {
    }

    public static List<Message> drainMessages(SqsClient sqs, String queueUrl) {
        List<Message> all = new ArrayList<>();
        while (true) {
            List<Message> batch = sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(10)
                    .waitTimeSeconds(0).visibilityTimeout(300)).messages();
            if (batch.isEmpty()) {
                return all;
            }
            all.addAll(batch);
            for (Message m : batch) {
                sqs.deleteMessage(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()));
            }
        }
    }

    public static List<Delta> drainDeltas(SqsClient sqs, String queueUrl) {
        List<Delta> deltas = new ArrayList<>();
        for (Message m : drainMessages(sqs, queueUrl)) {
            deltas.addAll(DeltaCodec.decode(m.body()));
        }
        return deltas;
    }
}
