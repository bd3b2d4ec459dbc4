package io.cohortsync.reliability.chaos;

import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * SQS message delays in simulated time. A function that queues a message with a delay (the sender
 * re-queueing a delta ahead of the table, the reconciler re-queueing a job whose commit has not landed)
 * hands it here; it stays invisible, as a delayed SQS message does, until the {@link SimClock} reaches its
 * due time, and is then sent to its queue by the next poll of that queue's {@link EventSource}. Real SQS
 * delays are in real seconds and would stall a run whose minutes are simulated.
 */
final class DelayedSends {
    private record Pending(String queueUrl, String body, Instant due) {
    }

    private final SqsClient sqs;
    private final SimClock clock;
    private final List<Pending> pending = new ArrayList<>();

    DelayedSends(SqsClient sqs, SimClock clock) {
        this.sqs = sqs;
        this.clock = clock;
    }

    /** Durable once this returns (held here as SQS holds a delayed message). */
    synchronized void send(String queueUrl, List<String> bodies, Duration delay) {
        Instant due = clock.instant().plus(delay);
        bodies.forEach(b -> pending.add(new Pending(queueUrl, b, due)));
    }

    /** Sends the messages of {@code queueUrl} that are due. @return how many */
    int release(String queueUrl) {
        List<Pending> due = new ArrayList<>();
        synchronized (this) {
            Instant now = clock.instant();
            for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.queueUrl().equals(queueUrl) && !p.due().isAfter(now)) {
                    due.add(p);
                    it.remove();
                }
            }
        }
        due.forEach(p -> sqs.sendMessage(b -> b.queueUrl(queueUrl).messageBody(p.body())));
        return due.size();
    }

    /** Messages of {@code queueUrl} still waiting for their delay. */
    synchronized long waiting(String queueUrl) {
        return pending.stream().filter(p -> p.queueUrl().equals(queueUrl)).count();
    }
}
