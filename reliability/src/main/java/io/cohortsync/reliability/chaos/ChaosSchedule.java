package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * One seeded chaos schedule, start to finish: Mixpanel traffic (full syncs over several pages, diffs,
 * renames, retries, restarts from the top, concurrent requests) through the real webhook, the sender
 * driven by {@link EventSource}, and faults everywhere in between (see {@link #poll} and
 * {@link MixpanelSim#deliver}); then the traffic stops, the system quiesces, the DLQ is inspected and
 * replayed, and {@link ChaosChecker} checks every promise.
 *
 * <p>Everything the schedule decides comes from its seed. What the seed cannot pin down is the
 * interleaving of the steps that run concurrently (parallel cohorts, concurrent pages, a request racing
 * its retry, the sender polling during a sync, two sender invocations at once).
 */
public final class ChaosSchedule {
    private static final String[] NAMES = {"Power users (30d)", "Churn risk ⚠", "VIP — 東京", "Beta testers",
            "Trial → paid", "Dormant 90d", "Ünïcödé fans", "Q4 \"whales\" / EU"};
    private static final String POISON = "{\"schema\":\"not-cohort-sync\",\"chaos\":\"poison\"}";
    private static final int MAX_QUIESCE_POLLS = 300;

    private final long seed;
    private final ChaosStats stats = new ChaosStats();
    private final ChaosEnv env;
    private final EventSource events;
    private final MixpanelSim mixpanel;
    private final List<MixpanelSim.Cohort> cohorts = new ArrayList<>();
    private final int pageSize;
    private final int steps;
    private final int userPool;
    private final double segmentFaultRate;
    private final double senderPortFaultRate;
    /** Some schedules let the sender fall behind, so several changes of one user wait on the queue together. */
    private final boolean laggingSender;
    private long pollSeq;
    /** Polls left in a Segment outage long enough for SQS to redrive the messages it keeps failing. */
    private int segmentOutagePolls;
    private int poisons;

    private ChaosSchedule(long seed, PrintStream senderOut, Supplier<String> capturedOutput) {
        this.seed = seed;
        SplittableRandom p = Seeds.stream(seed, "params");
        int cohortCount = 1 + p.nextInt(3);
        this.pageSize = 3 + p.nextInt(18);
        this.steps = 4 + p.nextInt(5);
        this.userPool = 20 + p.nextInt(50);
        double webhookFaultRate = 0.1 + 0.25 * p.nextDouble();
        double outageRate = 0.02 + 0.04 * p.nextDouble();
        this.segmentFaultRate = 0.15 + 0.35 * p.nextDouble();
        this.senderPortFaultRate = 0.05 + 0.2 * p.nextDouble();
        this.laggingSender = p.nextDouble() < 0.5;
        if (laggingSender) {
            stats.count("schedules with a lagging sender");
        }
        this.env = new ChaosEnv(senderOut, stats);
        this.events = new EventSource(env, stats);
        this.mixpanel = new MixpanelSim(env, stats, seed, webhookFaultRate, outageRate, capturedOutput);
        for (int i = 1; i <= cohortCount; i++) {
            MixpanelSim.Cohort c = new MixpanelSim.Cohort("c" + i, NAMES[p.nextInt(NAMES.length)]);
            int size = p.nextInt(userPool / 2 + 1);
            for (int k = 0; k < size; k++) {
                String u = user(p.nextInt(userPool));
                c.truth.add(u);
                c.universe.add(u);
            }
            cohorts.add(c);
        }
    }

    /** Runs schedule {@code seed}; the sender logs to {@code senderOut}, the webhook to {@code System.out}. */
    public static ChaosStats run(long seed, PrintStream senderOut, Supplier<String> capturedOutput) {
        ChaosSchedule s = new ChaosSchedule(seed, senderOut, capturedOutput);
        try {
            s.execute(capturedOutput);
        } catch (RuntimeException | AssertionError e) {
            s.stats.violation(seed, "driver-error", e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            s.env.close();
        }
        s.stats.count("schedules");
        return s.stats;
    }

    private static String user(int n) {
        return (n % 5 == 0 ? "ünï" : "u") + n + "@example.com";
    }

    private void execute(Supplier<String> capturedOutput) {
        for (int step = 0; step < steps; step++) {
            SplittableRandom r = Seeds.stream(seed, "step", step);
            if (r.nextDouble() < 0.06) {
                segmentOutagePolls = Infrastructure.MAX_RECEIVE_COUNT + 1 + r.nextInt(3);
                stats.count("Segment outages (each longer than maxReceiveCount polls)");
            }
            for (MixpanelSim.Cohort c : cohorts) {
                mutate(c, r);
                if (c.synced && r.nextDouble() < 0.12) {
                    String name;
                    do {
                        name = NAMES[r.nextInt(NAMES.length)];
                    } while (name.equals(c.name));
                    c.name = name;
                    stats.count("cohort renames");
                }
            }
            double kind = r.nextDouble();
            if (kind < 0.6 || cohorts.size() == 1 && kind < 0.8) {
                mixpanel.betweenRequests = () -> pollSome(laggingSender ? (r.nextDouble() < 0.05 ? 1 : 0) : r.nextInt(3));
                for (MixpanelSim.Cohort c : shuffled(r)) {
                    syncOne(c, r);
                }
            } else if (kind < 0.8) {
                stats.count("steps with cohorts syncing in parallel");
                mixpanel.betweenRequests = () -> { };
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < cohorts.size(); i++) {
                    MixpanelSim.Cohort c = cohorts.get(i);
                    SplittableRandom own = Seeds.stream(seed, "parallel", step, i);
                    threads.add(Thread.ofPlatform().name("mixpanel-" + c.id).start(() -> syncOne(c, own)));
                }
                threads.forEach(MixpanelSim::join);
            } else {
                stats.count("steps with the sender polling during syncs");
                mixpanel.betweenRequests = () -> { };
                AtomicBoolean done = new AtomicBoolean();
                Thread sender = Thread.ofPlatform().name("chaos-sender").start(() -> {
                    int max = laggingSender ? 1 : 40;
                    for (int i = 0; i < max && !done.get(); i++) {
                        poll(true);
                    }
                });
                try {
                    for (MixpanelSim.Cohort c : shuffled(r)) {
                        syncOne(c, r);
                    }
                } finally {
                    done.set(true);
                    MixpanelSim.join(sender);
                }
            }
            mixpanel.betweenRequests = () -> { };
            pollSome(laggingSender ? (r.nextDouble() < 0.2 ? 1 : 0) : r.nextInt(4));
            // Mixpanel's next scheduled sync: the default cadence is 30 minutes.
            env.clock.advance(Duration.ofMinutes(1 + r.nextInt(40)));
        }
        finish(capturedOutput);
    }

    private void syncOne(MixpanelSim.Cohort c, SplittableRandom r) {
        boolean full = !c.synced ? r.nextBoolean() : r.nextDouble() < 0.25;
        double m = r.nextDouble();
        MixpanelSim.PageMode mode = m < 0.7 ? MixpanelSim.PageMode.IN_ORDER
                : m < 0.85 ? MixpanelSim.PageMode.SHUFFLED : MixpanelSim.PageMode.CONCURRENT;
        mixpanel.sync(c, full, mode, r, pageSize);
    }

    /** Mixpanel's cohort changes between syncs: some members leave, some users (new or returning) enter. */
    private void mutate(MixpanelSim.Cohort c, SplittableRandom r) {
        if (r.nextDouble() < 0.2) {
            return;
        }
        List<String> members = new ArrayList<>(c.truth);
        int leave = Math.min(members.size(), r.nextInt(6));
        for (int i = 0; i < leave; i++) {
            c.truth.remove(members.get(r.nextInt(members.size())));
        }
        int enter = r.nextInt(7);
        for (int i = 0; i < enter; i++) {
            String u = user(r.nextInt(userPool));
            c.truth.add(u);
            c.universe.add(u);
        }
        // A few users flap in and out from one sync to the next: their changes queue up back to back.
        int flaps = r.nextDouble() < 0.7 ? 1 + r.nextInt(4) : 0;
        for (int i = 0; i < flaps; i++) {
            String u = user(r.nextInt(Math.min(userPool, 8)));
            if (!c.truth.remove(u)) {
                c.truth.add(u);
                c.universe.add(u);
            }
        }
    }

    private List<MixpanelSim.Cohort> shuffled(SplittableRandom r) {
        List<MixpanelSim.Cohort> order = new ArrayList<>(cohorts);
        MixpanelSim.shuffle(order, r);
        return order;
    }

    private void pollSome(int n) {
        for (int i = 0; i < n; i++) {
            poll(true);
        }
    }

    /**
     * One poll of the event source, with the faults its stream draws when {@code faulty}; without faults
     * it still reorders as a standard queue may, and sometimes runs two invocations at once.
     */
    private void poll(boolean faulty) {
        SplittableRandom r = Seeds.stream(seed, "poll", pollSeq++);
        if (!faulty) {
            boolean concurrent = r.nextDouble() < 0.2;
            events.poll(new EventSource.PollPlan(Faults.Plan.NONE, Faults.Plan.NONE, r.nextDouble() < 0.5,
                    r.nextDouble() < 0.3, concurrent, false, false, false), r);
            return;
        }
        SegmentStandIn segment = env.segment;
        int before = segment.requests().size();
        int programmedDelays = 0;
        if (segmentOutagePolls > 0) {
            segmentOutagePolls--;
            segment.failNext(2 * SegmentDelivery.MAX_ATTEMPTS, 429, "0");
        } else if (r.nextDouble() < segmentFaultRate) {
            double k = r.nextDouble();
            if (k < 0.25) {
                String[] retryAfter = {"0", "0", "0", "1", "120"};
                segment.failNext(1 + r.nextInt(3), 429, retryAfter[r.nextInt(retryAfter.length)]);
            } else if (k < 0.5) {
                int[] statuses = {500, 502, 503};
                segment.failNext(1 + r.nextInt(3), statuses[r.nextInt(statuses.length)]);
            } else if (k < 0.65) {
                programmedDelays = 1 + r.nextInt(2);
                segment.delayNext(programmedDelays, ChaosEnv.SLOW_ANSWER);
            } else if (k < 0.75) {
                segment.failNext(1, 400);
            } else if (k < 0.88) {
                MixpanelSim.Cohort c = cohorts.get(r.nextInt(cohorts.size()));
                List<String> universe = List.copyOf(c.universe);
                if (!universe.isEmpty()) {
                    String refused = universe.get(r.nextInt(universe.size()));
                    segment.rejectBatchesContaining(m -> refused.equals(m.path("userId").asText()));
                }
            } else {
                // Segment down for the whole invocation: every attempt of the first batch is refused.
                segment.failNext(5, 429, "0");
            }
        }
        if (r.nextDouble() < 0.015) {
            env.stack.sqs.sendMessage(b -> b.queueUrl(env.stack.queueUrl).messageBody(POISON));
            poisons++;
            stats.fault("sqs-poison-message");
        }
        boolean concurrent = r.nextDouble() < 0.15;
        EventSource.PollPlan plan = new EventSource.PollPlan(senderPlan(r), concurrent ? senderPlan(r) : Faults.Plan.NONE,
                r.nextDouble() < 0.25, r.nextDouble() < 0.15, concurrent, r.nextBoolean(), r.nextDouble() < 0.06,
                r.nextDouble() < 0.05);
        try {
            events.poll(plan, r);
        } finally {
            List<SegmentStandIn.RecordedRequest> seen = segment.requests();
            int during = seen.size() - before;
            segment.recover();
            segment.rejectBatchesContaining(m -> false);
            for (SegmentStandIn.RecordedRequest q : seen.subList(before, seen.size())) {
                if (q.status() == 429) {
                    stats.fault("segment-429");
                } else if (q.status() >= 500) {
                    stats.fault("segment-5xx");
                } else if (q.status() == 400) {
                    stats.fault("segment-400");
                }
            }
            stats.faults("segment-slow-answer (client timeout)", Math.min(during, programmedDelays));
        }
    }

    private Faults.Plan senderPlan(SplittableRandom r) {
        if (r.nextDouble() >= senderPortFaultRate) {
            return Faults.Plan.NONE;
        }
        double k = r.nextDouble();
        Faults.Action action = k < 0.45 ? Faults.Action.THROTTLE
                : k < 0.65 ? Faults.Action.CRASH_BEFORE : Faults.Action.CRASH_AFTER;
        return new Faults.Plan(action, 1 + r.nextInt(4), false);
    }

    // ---- traffic stops ---------------------------------------------------------------------------

    private void finish(Supplier<String> capturedOutput) {
        // Mixpanel's next scheduled sync goes through cleanly: it re-sends whatever never got a 2xx.
        mixpanel.faultsOn = false;
        mixpanel.betweenRequests = () -> { };
        SplittableRandom r = Seeds.stream(seed, "final");
        for (MixpanelSim.Cohort c : cohorts) {
            if (c.pendingRestart != null) {
                mixpanel.sync(c, true, MixpanelSim.PageMode.IN_ORDER, r, pageSize);
            }
            mixpanel.sync(c, false, MixpanelSim.PageMode.IN_ORDER, r, pageSize);
        }
        stats.add("messages on the delta queue when traffic stopped", env.stack.sqs.getQueueAttributes(b -> b
                .queueUrl(env.stack.queueUrl).attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                .attributes().values().stream().mapToLong(Long::parseLong).sum());
        quiesce("after the last sync");
        // An operator reads the DLQ's reasons and replays what can be replayed.
        List<Message> letters = drain(env.stack.dlqUrl);
        String output = capturedOutput.get();
        Set<String> redriveLogged = ChaosChecker.redrivesLogged(output);
        int poisonFound = 0;
        int replayed = 0;
        for (Message m : letters) {
            var reason = m.messageAttributes().get("reason");
            if (reason != null && reason.stringValue() != null && !reason.stringValue().isBlank()) {
                stats.count("DLQ: dead-lettered by the sender, with reason");
            } else if (redriveLogged.contains(m.messageId())) {
                stats.count("DLQ: redriven by SQS after maxReceiveCount, reason logged");
            } else if (events.lastDelivery(m.messageId()) == EventSource.LastDelivery.CRASHED) {
                stats.count("DLQ: redriven by SQS, the sender died on the last receive");
            } else if (events.lastDelivery(m.messageId()) == EventSource.LastDelivery.LOST_DELETE) {
                stats.count("DLQ: redriven by SQS after deletes that never happened");
            } else {
                stats.violation(seed, "dlq-without-reason", "DLQ message " + m.messageId() + " has no reason");
            }
            if (POISON.equals(m.body())) {
                poisonFound++;
                continue;
            }
            try {
                DeltaCodec.decode(m.body());
                env.stack.sqs.sendMessage(b -> b.queueUrl(env.stack.queueUrl).messageBody(m.body()));
                replayed++;
            } catch (MalformedDeltaException e) {
                stats.violation(seed, "dlq-undecodable", "DLQ holds a body that is neither a delta message nor poison");
            }
        }
        stats.add("DLQ messages", letters.size());
        stats.add("DLQ messages replayed", replayed);
        if (poisonFound < poisons) {
            stats.violation(seed, "poison-not-dead-lettered", (poisons - poisonFound) + " of " + poisons
                    + " poison messages are not in the DLQ");
        }
        ChaosChecker.checkRejectedWereDeadLettered(seed, env, letters, stats);
        if (replayed > 0) {
            quiesce("after replaying the DLQ");
        }
        ChaosChecker.check(seed, env, List.copyOf(mixpanel.reports), stats);
        String text = capturedOutput.get() + "\n" + mixpanel.answerBodies();
        for (String leak : new LeakScanner().scan(text)) {
            stats.violation(seed, "pii-or-secret-in-output", leak);
        }
    }

    private void quiesce(String when) {
        for (int i = 0; i < MAX_QUIESCE_POLLS; i++) {
            if (events.drained()) {
                return;
            }
            poll(false);
            // Deltas ahead of the table (their commit died) come back until 15 simulated minutes pass.
            env.clock.advance(Duration.ofSeconds(60));
        }
        stats.violation(seed, "did-not-quiesce", "the delta queue was not empty after " + MAX_QUIESCE_POLLS
                + " polls " + when);
    }

    private List<Message> drain(String queueUrl) {
        List<Message> all = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        while (true) {
            List<Message> batch = SqsEvents.receive(env.stack.sqs, queueUrl, 10);
            if (batch.isEmpty()) {
                return all;
            }
            for (Message m : batch) {
                if (seen.add(m.messageId())) {
                    all.add(m);
                }
                env.stack.sqs.deleteMessage(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()));
            }
        }
    }
}
