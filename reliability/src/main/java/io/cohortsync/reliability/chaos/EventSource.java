package io.cohortsync.reliability.chaos;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SqsException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The driver's own SQS event source mapping for the real sender handler, on the moto delta queue: it
 * receives real messages, builds the {@link SQSEvent} with the runtime's serializer, and settles each
 * invocation like Lambda does with {@code ReportBatchItemFailures} (completed records deleted, failed
 * ones visible again, everything visible again when the function dies or names an unknown id). SQS
 * itself counts receives and moves a message to the DLQ after {@code maxReceiveCount}. On top it can
 * misbehave the ways SQS standard queues and the mapping may: hand records over reordered or held back
 * for a later batch, deliver one message to two concurrent invocations, redeliver a message that was
 * processed (a delete that did not happen), or redeliver its body as a new message.
 */
final class EventSource {
    static final int BATCH_SIZE = 10;
    static final Duration SENDER_TIMEOUT = Duration.ofSeconds(60);

    /** How the next poll misbehaves. */
    record PollPlan(Faults.Plan first, Faults.Plan second, boolean reorder, boolean holdBack, boolean concurrent,
                    boolean overlap, boolean lostDelete, boolean ghostCopy) {
        static final PollPlan CLEAN = new PollPlan(Faults.Plan.NONE, Faults.Plan.NONE, false, false, false, false,
                false, false);
    }

    /** How the last delivery of an SQS message ended, to explain a DLQ message without a reason. */
    enum LastDelivery { FAILED, CRASHED, LOST_DELETE }

    private final ChaosEnv env;
    private final ChaosStats stats;
    private final List<Message> held = new ArrayList<>();
    private final Map<String, LastDelivery> lastDelivery = new java.util.concurrent.ConcurrentHashMap<>();

    EventSource(ChaosEnv env, ChaosStats stats) {
        this.env = env;
        this.stats = stats;
    }

    /** One poll. @return whether any record was handed to the sender */
    boolean poll(PollPlan plan, SplittableRandom rng) {
        List<Message> batch = new ArrayList<>(held);
        held.clear();
        int want = plan.holdBack() ? 2 * BATCH_SIZE : BATCH_SIZE;
        if (batch.size() < want) {
            batch.addAll(SqsEvents.receive(env.stack.sqs, env.stack.queueUrl, want - batch.size()));
        }
        if (batch.isEmpty()) {
            return false;
        }
        if (plan.reorder() && batch.size() > 1) {
            shuffle(batch, rng);
            stats.fault("sqs-reorder");
        }
        if (batch.size() > BATCH_SIZE) {
            // Received but not handed over: still in flight, delivered by a later poll after newer messages.
            held.addAll(batch.subList(BATCH_SIZE, batch.size()));
            batch = new ArrayList<>(batch.subList(0, BATCH_SIZE));
            stats.fault("sqs-held-back");
        }
        List<List<Message>> events = new ArrayList<>();
        if (plan.concurrent() && batch.size() > 1) {
            int mid = batch.size() / 2;
            List<Message> a = new ArrayList<>(batch.subList(0, mid));
            List<Message> b = new ArrayList<>(batch.subList(mid, batch.size()));
            if (plan.overlap()) {
                b.add(a.getFirst()); // one message delivered to both invocations at once
                stats.fault("sqs-concurrent-duplicate");
            }
            events.add(a);
            events.add(b);
            stats.fault("sqs-concurrent-invocations");
        } else {
            events.add(batch);
        }
        List<Set<String>> failures = new ArrayList<>();
        if (events.size() == 1) {
            failures.add(invoke(events.getFirst(), plan.first()));
        } else {
            // Two invocations at once, as Lambda scales out: the second on its own thread, joined here.
            Set<String>[] second = newSetArray();
            Thread other = Thread.ofPlatform().name("chaos-sender-2").start(
                    () -> second[0] = invoke(events.get(1), plan.second()));
            failures.add(invoke(events.getFirst(), plan.first()));
            join(other);
            failures.add(second[0]);
        }
        Map<String, Message> byId = new LinkedHashMap<>();
        Set<String> succeeded = new HashSet<>();
        Set<String> failed = new HashSet<>();
        for (int i = 0; i < events.size(); i++) {
            for (Message m : events.get(i)) {
                byId.put(m.messageId(), m);
                (failures.get(i).contains(m.messageId()) ? failed : succeeded).add(m.messageId());
            }
        }
        boolean lostOne = false;
        for (Message m : byId.values()) {
            boolean ok = succeeded.contains(m.messageId());
            if (ok && plan.lostDelete() && !lostOne) {
                lostOne = true;
                lastDelivery.put(m.messageId(), LastDelivery.LOST_DELETE);
                stats.fault("sqs-redelivery-after-success");
                visible(m);
            } else if (ok) {
                lastDelivery.remove(m.messageId());
                delete(m);
            } else {
                visible(m);
            }
        }
        if (plan.ghostCopy()) {
            Message m = batch.get(rng.nextInt(batch.size()));
            env.stack.sqs.sendMessage(b -> b.queueUrl(env.stack.queueUrl).messageBody(m.body()));
            stats.fault("sqs-duplicate-copy");
        }
        return true;
    }

    /** @return the SQS message ids that must come back */
    private Set<String> invoke(List<Message> records, Faults.Plan plan) {
        Set<String> all = new HashSet<>();
        records.forEach(m -> all.add(m.messageId()));
        SQSEvent event = SqsEvents.event(env.stack.queueUrl, records);
        Faults.Invocation inv = env.faults.open(plan);
        stats.count("sender invocations");
        try {
            SQSBatchResponse response = env.sender.handleRequest(event,
                    LambdaContexts.withRemaining("cohort-sync-sender", SENDER_TIMEOUT));
            Set<String> failed = new HashSet<>();
            if (response != null && response.getBatchItemFailures() != null) {
                for (SQSBatchResponse.BatchItemFailure f : response.getBatchItemFailures()) {
                    if (f.getItemIdentifier() == null || !all.contains(f.getItemIdentifier())) {
                        stats.count("sender answers naming unknown ids");
                        markFailed(all, LastDelivery.FAILED);
                        return all; // Lambda fails the whole batch for an unknown identifier
                    }
                    failed.add(f.getItemIdentifier());
                }
            }
            markFailed(failed, LastDelivery.FAILED);
            stats.add("sender batch item failures", failed.size());
            return failed;
        } catch (SimulatedCrash crash) {
            markFailed(all, LastDelivery.CRASHED);
            return all;
        } finally {
            if (inv.fired()) {
                stats.fault("sender " + inv.kind());
            }
            env.faults.close();
        }
    }

    @SuppressWarnings("unchecked")
    private static Set<String>[] newSetArray() {
        return (Set<String>[]) new Set[1];
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a sender invocation ran", e);
        }
    }

    private void markFailed(Set<String> ids, LastDelivery how) {
        ids.forEach(id -> lastDelivery.put(id, how));
    }

    LastDelivery lastDelivery(String sqsMessageId) {
        return lastDelivery.get(sqsMessageId);
    }

    private void delete(Message m) {
        try {
            env.stack.sqs.deleteMessage(b -> b.queueUrl(env.stack.queueUrl).receiptHandle(m.receiptHandle()));
        } catch (SqsException gone) {
            // Deleted through the other invocation's receipt already.
        }
    }

    private void visible(Message m) {
        try {
            env.stack.sqs.changeMessageVisibility(b -> b.queueUrl(env.stack.queueUrl).receiptHandle(m.receiptHandle())
                    .visibilityTimeout(0));
        } catch (SqsException gone) {
            // The other invocation completed and deleted it.
        }
    }

    /** True when nothing is visible, in flight, delayed or held back. */
    boolean drained() {
        if (!held.isEmpty()) {
            return false;
        }
        Map<QueueAttributeName, String> a = env.stack.sqs.getQueueAttributes(b -> b.queueUrl(env.stack.queueUrl)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return a.values().stream().allMatch("0"::equals);
    }

    private static <T> void shuffle(List<T> list, SplittableRandom rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
