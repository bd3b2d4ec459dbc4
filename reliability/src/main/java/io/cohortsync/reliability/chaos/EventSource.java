package io.cohortsync.reliability.chaos;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SqsException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's own SQS event source mapping for one real handler on one moto queue (the sender on the
 * delta queue, batch size 10; the reconciler on the reconcile queue, batch size 1): it receives real
 * messages, builds the {@link SQSEvent} with the runtime's serializer, and settles each invocation like
 * Lambda does with {@code ReportBatchItemFailures} (completed records deleted, failed ones visible again,
 * everything visible again when the function dies or names an unknown id). SQS itself counts receives
 * and moves a message to the queue's DLQ after {@code maxReceiveCount}. On top it can misbehave the ways
 * SQS standard queues and the mapping may: hand records over reordered or held back for a later batch,
 * deliver one message to two concurrent invocations, redeliver a message that was processed (a delete
 * that did not happen), or redeliver its body as a new message.
 */
final class EventSource {
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
    /** {@code sender} or {@code reconciler}: names its invocations and faults in the table. */
    final String function;
    /** Prefix of the SQS misbehaviours counted in the table: {@code sqs-} or {@code reconcile-sqs-}. */
    private final String faultPrefix;
    final String queueUrl;
    final int batchSize;
    private final Duration timeout;
    private final RequestHandler<SQSEvent, SQSBatchResponse> handler;
    private final List<Message> held = new ArrayList<>();
    private final Map<String, LastDelivery> lastDelivery = new ConcurrentHashMap<>();

    EventSource(ChaosEnv env, ChaosStats stats, String function, String faultPrefix, String queueUrl, int batchSize,
                Duration timeout, RequestHandler<SQSEvent, SQSBatchResponse> handler) {
        this.env = env;
        this.stats = stats;
        this.function = function;
        this.faultPrefix = faultPrefix;
        this.queueUrl = queueUrl;
        this.batchSize = batchSize;
        this.timeout = timeout;
        this.handler = handler;
    }

    /** One poll. @return whether any record was handed to the function */
    synchronized boolean poll(PollPlan plan, SplittableRandom rng) {
        env.delayed.release(queueUrl);
        List<Message> batch = new ArrayList<>(held);
        held.clear();
        int want = plan.holdBack() || plan.concurrent() ? 2 * batchSize : batchSize;
        if (batch.size() < want) {
            batch.addAll(SqsEvents.receive(env.stack.sqs, queueUrl, want - batch.size()));
        }
        if (batch.isEmpty()) {
            return false;
        }
        if (plan.reorder() && batch.size() > 1) {
            shuffle(batch, rng);
            stats.fault(faultPrefix + "reorder");
        }
        List<Message> first = new ArrayList<>(batch.subList(0, Math.min(batchSize, batch.size())));
        List<Message> rest = new ArrayList<>(batch.subList(first.size(), batch.size()));
        List<List<Message>> events = new ArrayList<>();
        events.add(first);
        if (plan.concurrent() && (!rest.isEmpty() || plan.overlap())) {
            List<Message> second = new ArrayList<>();
            while (second.size() < batchSize - (plan.overlap() ? 1 : 0) && !rest.isEmpty()) {
                second.add(rest.removeFirst());
            }
            if (plan.overlap()) {
                second.add(first.getFirst()); // one message delivered to both invocations at once
                stats.fault(faultPrefix + "concurrent-duplicate");
            }
            events.add(second);
            stats.fault(faultPrefix + "concurrent-invocations");
        }
        if (!rest.isEmpty()) {
            // Received but not handed over: still in flight, delivered by a later poll after newer messages.
            held.addAll(rest);
            stats.fault(faultPrefix + "held-back");
        }
        List<Set<String>> failures = new ArrayList<>();
        if (events.size() == 1) {
            failures.add(invoke(events.getFirst(), plan.first()));
        } else {
            // Two invocations at once, as Lambda scales out: the second on its own thread, joined here.
            Set<String>[] second = newSetArray();
            Thread other = Thread.ofPlatform().name("chaos-" + function + "-2").start(
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
            // One invocation completing a message deletes it, even when the other copy failed.
            boolean ok = succeeded.contains(m.messageId());
            if (ok && plan.lostDelete() && !lostOne) {
                lostOne = true;
                lastDelivery.put(m.messageId(), LastDelivery.LOST_DELETE);
                stats.fault(faultPrefix + "redelivery-after-success");
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
            env.stack.sqs.sendMessage(b -> b.queueUrl(queueUrl).messageBody(m.body()));
            stats.fault(faultPrefix + "duplicate-copy");
        }
        return true;
    }

    /** @return the SQS message ids that must come back */
    private Set<String> invoke(List<Message> records, Faults.Plan plan) {
        Set<String> all = new HashSet<>();
        records.forEach(m -> all.add(m.messageId()));
        SQSEvent event = SqsEvents.event(queueUrl, records);
        Faults.Invocation inv = env.faults.open(plan);
        stats.count(function + " invocations");
        try {
            Context context = LambdaContexts.withRemaining("cohort-sync-" + function, timeout);
            SQSBatchResponse response = handler.handleRequest(event, context);
            Set<String> failed = new HashSet<>();
            if (response != null && response.getBatchItemFailures() != null) {
                for (SQSBatchResponse.BatchItemFailure f : response.getBatchItemFailures()) {
                    if (f.getItemIdentifier() == null || !all.contains(f.getItemIdentifier())) {
                        stats.count(function + " answers naming unknown ids");
                        markFailed(all, LastDelivery.FAILED);
                        return all; // Lambda fails the whole batch for an unknown identifier
                    }
                    failed.add(f.getItemIdentifier());
                }
            }
            markFailed(failed, LastDelivery.FAILED);
            stats.add(function + " batch item failures", failed.size());
            if (!failed.isEmpty() && !inv.fired()) {
                stats.add(function + " batch item failures without an injected port fault", failed.size());
            }
            return failed;
        } catch (SimulatedCrash crash) {
            markFailed(all, LastDelivery.CRASHED);
            return all;
        } finally {
            if (inv.fired()) {
                stats.fault(function + " " + inv.kind());
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
            throw new IllegalStateException("interrupted while an invocation ran", e);
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
            env.stack.sqs.deleteMessage(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()));
        } catch (SqsException gone) {
            // Deleted through the other invocation's receipt already.
        }
    }

    private void visible(Message m) {
        try {
            env.stack.sqs.changeMessageVisibility(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle())
                    .visibilityTimeout(0));
        } catch (SqsException gone) {
            // The other invocation completed and deleted it.
        }
    }

    /** True when nothing is visible, in flight, delayed (by SQS or in simulated time) or held back. */
    synchronized boolean drained() {
        if (!held.isEmpty() || env.delayed.waiting(queueUrl) > 0) {
            return false;
        }
        Map<QueueAttributeName, String> a = env.stack.sqs.getQueueAttributes(b -> b.queueUrl(queueUrl)
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
