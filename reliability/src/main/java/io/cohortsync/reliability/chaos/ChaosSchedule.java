package io.cohortsync.reliability.chaos;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.segment.EncodedMessage;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.SegmentBatch;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * One seeded chaos schedule, start to finish: Mixpanel traffic (full syncs over several pages, diffs,
 * renames, retries, restarts from the top, concurrent requests; syncs of one connection one after
 * another, connections in parallel) through the real webhook, the sender and the reconciler each driven
 * by its own {@link EventSource}, and faults everywhere in between (see {@link #poll},
 * {@link #pollReconciler} and {@link MixpanelSim#deliver}); then the traffic stops, both queues drain,
 * both DLQs are inspected and replayed, and {@link ChaosChecker} checks every promise.
 *
 * <p>Everything the schedule decides comes from its seed. What the seed cannot pin down is the
 * interleaving of the steps that run concurrently (connections syncing in parallel, concurrent pages, a
 * request racing its retry, the sender or the reconciler polling during a sync, two invocations at once).
 */
public final class ChaosSchedule {
    private static final String[] NAMES = {"Power users (30d)", "Churn risk ⚠", "VIP — 東京", "Beta testers",
            "Trial → paid", "Dormant 90d", "Ünïcödé fans", "Q4 \"whales\" / EU"};
    private static final String POISON = "{\"schema\":\"not-cohort-sync\",\"chaos\":\"poison\"}";
    private static final int MAX_QUIESCE_ROUNDS = 300;
    /** Reconciler polls per quiesce round at most (one job a poll). */
    private static final int RECONCILER_POLLS_PER_ROUND = 60;

    private final long seed;
    private final ChaosStats stats = new ChaosStats();
    private final ChaosEnv env;
    private final EventSource events;
    private final EventSource jobs;
    private final MixpanelSim mixpanel;
    private final List<MixpanelSim.Cohort> cohorts = new ArrayList<>();
    /** Cohorts by connection: Mixpanel runs the syncs of one connection one after another. */
    private final Map<String, List<MixpanelSim.Cohort>> byConnection = new LinkedHashMap<>();
    private final int steps;
    private final double renameRate;
    private final double segmentFaultRate;
    private final double senderPortFaultRate;
    private final double reconcilerPortFaultRate;
    /** Some schedules let the sender fall behind, so several changes of one user wait on the queue together. */
    private final boolean laggingSender;
    /** Some let the reconciler fall behind, so diffs and renames meet exit passes and renames still pending. */
    private final boolean laggingReconciler;
    private long pollSeq;
    private long reconcilePollSeq;
    /** Polls left in a Segment outage long enough for SQS to redrive the messages it keeps failing. */
    private int segmentOutagePolls;
    private int poisons;
    private int reconcilePoisons;

    /**
     * What a schedule is made of, drawn from its seed alone (its own stream), before anything runs: so a
     * set of schedules can be chosen by what it covers ({@link #params}, {@code ChaosIT}).
     *
     * @param big    cohort c1 has a few thousand members over several pages
     * @param legacy the last cohort starts in the old single-partition layout (an upgrade)
     */
    record Params(int cohorts, int connections, boolean big, boolean legacy, int steps, int userPool,
                  double webhookFaultRate, double outageRate, double segmentFaultRate, double senderPortFaultRate,
                  double reconcilerPortFaultRate, boolean laggingSender, boolean laggingReconciler, double renameRate,
                  ReconcileConfig reconcile, List<String> names, List<Integer> pageSizes, List<Integer> sizes) {
        @Override
        public String toString() {
            return cohorts + " cohorts on " + connections + " connections, " + steps + " steps" + (big ? ", big" : "")
                    + (legacy ? ", upgrade" : "") + (laggingSender ? ", lagging sender" : "")
                    + (laggingReconciler ? ", lagging reconciler" : "") + (renameRate > 0.2 ? ", many renames" : "");
        }
    }

    static Params params(long seed) {
        SplittableRandom p = Seeds.stream(seed, "params");
        int cohortCount = 1 + p.nextInt(3);
        int connectionCount = 1 + p.nextInt(cohortCount);
        // Some schedules have a cohort of a few thousand members over several pages (fewer steps: each of
        // its full syncs and renames touches every member).
        boolean big = p.nextDouble() < 0.12;
        int steps = big ? 3 + p.nextInt(2) : 3 + p.nextInt(4);
        int userPool = 20 + p.nextInt(50);
        double webhookFaultRate = 0.1 + 0.25 * p.nextDouble();
        double outageRate = 0.02 + 0.04 * p.nextDouble();
        double segmentFaultRate = 0.15 + 0.35 * p.nextDouble();
        double senderPortFaultRate = 0.05 + 0.2 * p.nextDouble();
        double reconcilerPortFaultRate = 0.05 + 0.2 * p.nextDouble();
        boolean laggingSender = p.nextDouble() < 0.5;
        boolean laggingReconciler = p.nextDouble() < 0.4;
        double renameRate = p.nextDouble() < 0.3 ? 0.35 : 0.12;
        // Small passes and chunks, continuations after a chunk or three: many checkpoints per shard (a big
        // cohort has ~200 members a shard: mostly several passes, a few chunks each).
        ReconcileConfig reconcile = new ReconcileConfig(MassExitPolicy.DEFAULT, big ? 20 + p.nextInt(300) : 2 + p.nextInt(40),
                big ? 40 + p.nextInt(260) : 1 + p.nextInt(25), p.nextInt(4), Duration.ofSeconds(30),
                Duration.ofMinutes(15));
        List<String> names = new ArrayList<>(List.of(NAMES));
        MixpanelSim.shuffle(names, p);
        List<Integer> pageSizes = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        for (int i = 0; i < cohortCount; i++) {
            boolean isBig = big && i == 0;
            pageSizes.add(isBig ? 250 + p.nextInt(751) : 3 + p.nextInt(18));
            sizes.add(isBig ? 1000 + p.nextInt(2001) : p.nextInt(userPool / 2 + 1));
        }
        // An upgrade only for a small cohort: migrating thousands of items one by one is slow on moto.
        boolean legacy = !(big && cohortCount == 1) && p.nextDouble() < 0.25;
        return new Params(cohortCount, connectionCount, big, legacy, steps, userPool, webhookFaultRate, outageRate,
                segmentFaultRate, senderPortFaultRate, reconcilerPortFaultRate, laggingSender, laggingReconciler,
                renameRate, reconcile, List.copyOf(names), List.copyOf(pageSizes), List.copyOf(sizes));
    }

    private ChaosSchedule(long seed, PrintStream functionsOut, Supplier<String> capturedOutput) {
        this.seed = seed;
        Params params = params(seed);
        this.steps = params.steps();
        this.segmentFaultRate = params.segmentFaultRate();
        this.senderPortFaultRate = params.senderPortFaultRate();
        this.reconcilerPortFaultRate = params.reconcilerPortFaultRate();
        this.laggingSender = params.laggingSender();
        this.laggingReconciler = params.laggingReconciler();
        this.renameRate = params.renameRate();
        if (laggingSender) {
            stats.count("schedules with a lagging sender");
        }
        if (laggingReconciler) {
            stats.count("schedules with a lagging reconciler");
        }
        List<String> connections = new ArrayList<>();
        for (int k = 0; k < params.connections(); k++) {
            connections.add(k == 0 ? CohortRef.DEFAULT_CONNECTION : "conn-" + (k + 1));
        }
        this.env = new ChaosEnv(functionsOut, stats, connections, params.reconcile());
        this.events = new EventSource(env, stats, "sender", "sqs-", env.stack.queueUrl, 10, ChaosEnv.SENDER_TIMEOUT,
                env.sender);
        this.jobs = new EventSource(env, stats, "reconciler", "reconcile-sqs-", env.stack.reconcileQueueUrl, 1,
                ChaosEnv.RECONCILER_TIMEOUT, env.reconciler);
        this.mixpanel = new MixpanelSim(env, stats, seed, params.webhookFaultRate(), params.outageRate(),
                capturedOutput);
        SplittableRandom members = Seeds.stream(seed, "members");
        int cohortCount = params.cohorts();
        for (int i = 0; i < cohortCount; i++) {
            // Each cohort renames within its own names: two cohorts never share a trait in Segment.
            List<String> pool = new ArrayList<>();
            for (int j = i; j < params.names().size(); j += cohortCount) {
                pool.add(params.names().get(j));
            }
            boolean isBig = params.big() && i == 0;
            MixpanelSim.Cohort c = new MixpanelSim.Cohort("c" + (i + 1), connections.get(i % params.connections()),
                    pool, params.pageSizes().get(i));
            int size = params.sizes().get(i);
            int userPool = isBig ? size + size / 3 : params.userPool();
            for (int k = 0; k < size; k++) {
                String u = isBig ? bigUser(members.nextInt(userPool)) : user(members.nextInt(userPool));
                c.truth.add(u);
                c.universe.add(u);
            }
            if (isBig) {
                stats.count("cohorts with thousands of members");
            }
            c.userPool = userPool;
            c.big = isBig;
            cohorts.add(c);
            byConnection.computeIfAbsent(c.connection, k -> new ArrayList<>()).add(c);
        }
        if (params.legacy()) {
            seedLegacy(cohorts.getLast(), Seeds.stream(seed, "legacy"));
        }
    }

    /**
     * The cohort was synced by an earlier version, which stored it in one partition
     * ({@code M#<project>#<cohort>}, no name versions or marks) and a cohort item holding only its name;
     * Segment holds what that version sent, Mixpanel's snapshot is its membership. The first request
     * after the upgrade queues a migration (and answers 503 until the reconciler moved every item).
     */
    private void seedLegacy(MixpanelSim.Cohort c, SplittableRandom p) {
        stats.count("cohorts upgraded from the single-partition layout");
        String pk = Keys.legacyMembershipPk(c.ref);
        List<Delta> sent = new ArrayList<>();
        Set<String> users = new LinkedHashSet<>(c.universe);
        for (int k = 0; k < 3; k++) {
            users.add(user(p.nextInt(c.userPool))); // left before the upgrade
        }
        for (String u : users) {
            c.universe.add(u);
            boolean member = c.truth.contains(u);
            // versions as the earlier version counted them: enter 1, exit 2, enter 3
            long version = member ? (p.nextBoolean() ? 1 : 3) : 2;
            env.stack.dynamo.putItem(b -> b.tableName(env.stack.tableName).item(Map.of(Keys.PK, AttributeValue.fromS(pk),
                    Keys.SK, AttributeValue.fromS(u), "m", AttributeValue.fromBool(member),
                    "v", AttributeValue.fromN(Long.toString(version)))));
            sent.add(new Delta(c.ref, c.name, u, member, version, env.clock.instant()));
            mixpanel.reports.add(new MixpanelSim.Report(c.id, u, member, true));
        }
        // The earlier version (following renames, its default) recorded the cohort's name after every request.
        env.stack.dynamo.putItem(b -> b.tableName(env.stack.tableName).item(Map.of(
                Keys.PK, AttributeValue.fromS(Keys.cohortPk(c.ref)), Keys.SK, AttributeValue.fromS("META"),
                "name", AttributeValue.fromS(c.name))));
        env.ledger.handedOver(sent);
        env.ledger.queued(sent);
        if (!sent.isEmpty()) {
            List<EncodedMessage> messages = sent.stream()
                    .map(d -> IdentifyMessage.of(d, ChaosEnv.TRAIT_PREFIX).encode()).toList();
            new SegmentClient(env.segment.baseUrl(), env.clock).postBatch(new SegmentBatch(messages)
                    .body(env.clock.instant()), AwsStack.SEGMENT_WRITE_KEY, Duration.ofSeconds(10));
        }
        c.snapshot.addAll(c.truth);
        c.synced = true;
        c.nameReports.add(new MixpanelSim.NameReport(c.name, true));
    }

    /** Runs schedule {@code seed}; the sender and reconciler log to {@code functionsOut}, the webhook to {@code System.out}. */
    public static ChaosStats run(long seed, PrintStream functionsOut, Supplier<String> capturedOutput) {
        // Every AWS call of the schedule (functions, driver and checker): what a schedule costs, whatever the
        // machine's load. Schedules run one at a time, so the global counter is the schedule's.
        AwsRequestCounter.reset();
        ChaosSchedule s = new ChaosSchedule(seed, functionsOut, capturedOutput);
        try {
            s.execute(capturedOutput);
        } catch (RuntimeException | AssertionError e) {
            s.stats.violation(seed, "driver-error", e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            s.env.close();
        }
        s.stats.count("schedules");
        s.stats.add("AWS requests to the emulator", AwsRequestCounter.snapshot().values().stream()
                .mapToLong(Long::longValue).sum());
        return s.stats;
    }

    private static String user(int n) {
        return (n % 5 == 0 ? "ünï" : "u") + n + "@example.com";
    }

    private static String bigUser(int n) {
        return (n % 7 == 0 ? "bö" : "b") + n + "@example.com";
    }

    private String anyUser(MixpanelSim.Cohort c, SplittableRandom r) {
        return c.big ? bigUser(r.nextInt(c.userPool)) : user(r.nextInt(c.userPool));
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
                if (c.synced && r.nextDouble() < renameRate) {
                    String name;
                    do {
                        name = c.namePool.get(r.nextInt(c.namePool.size()));
                    } while (name.equals(c.name) && c.namePool.size() > 1);
                    if (!name.equals(c.name)) {
                        c.name = name;
                        stats.count("cohort renames");
                    }
                }
            }
            // Now and then the reconciler does nothing for a step (throttled, or just behind): a full sync of
            // this step keeps its exit pass pending into the next step's diffs.
            boolean paused = r.nextDouble() < 0.3;
            if (paused) {
                stats.count("steps with the reconciler paused");
            }
            boolean slow = laggingReconciler || paused;
            double kind = r.nextDouble();
            if (kind < 0.55 || kind < 0.75 && byConnection.size() == 1) {
                mixpanel.betweenRequests = () -> {
                    pollSome(laggingSender ? (r.nextDouble() < 0.05 ? 1 : 0) : r.nextInt(3));
                    pollReconciler(paused ? 0 : laggingReconciler ? (r.nextDouble() < 0.05 ? 1 : 0) : r.nextInt(8));
                };
                mixpanel.betweenAttempts = () -> pollReconciler(slow ? 0 : r.nextInt(6));
                for (MixpanelSim.Cohort c : shuffled(r)) {
                    syncOne(c, r);
                }
            } else if (kind < 0.75) {
                // One thread per connection; the cohorts of a connection one after another.
                stats.count("steps with connections syncing in parallel");
                mixpanel.betweenRequests = () -> { };
                List<Thread> threads = new ArrayList<>();
                int i = 0;
                for (List<MixpanelSim.Cohort> own : byConnection.values()) {
                    SplittableRandom rng = Seeds.stream(seed, "parallel", step, i++);
                    threads.add(Thread.ofPlatform().name("mixpanel-" + own.getFirst().connection).start(() -> {
                        for (MixpanelSim.Cohort c : own) {
                            syncOne(c, rng);
                        }
                    }));
                }
                threads.forEach(MixpanelSim::join);
            } else {
                stats.count("steps with the sender and the reconciler polling during syncs");
                mixpanel.betweenRequests = () -> { };
                AtomicBoolean done = new AtomicBoolean();
                Thread sender = Thread.ofPlatform().name("chaos-sender").start(() -> {
                    int max = laggingSender ? 1 : 40;
                    for (int i = 0; i < max && !done.get(); i++) {
                        if (!poll(true)) {
                            pause(); // an empty receive: Lambda's poller waits before the next one
                        }
                    }
                });
                Thread reconciler = Thread.ofPlatform().name("chaos-reconciler").start(() -> {
                    int max = paused ? 0 : laggingReconciler ? 2 : 200;
                    for (int i = 0; i < max && !done.get(); i++) {
                        if (!pollReconciler(true)) {
                            pause();
                        }
                    }
                });
                try {
                    for (MixpanelSim.Cohort c : shuffled(r)) {
                        syncOne(c, r);
                    }
                } finally {
                    done.set(true);
                    MixpanelSim.join(sender);
                    MixpanelSim.join(reconciler);
                }
            }
            mixpanel.betweenRequests = () -> { };
            mixpanel.betweenAttempts = () -> { };
            pollSome(laggingSender ? (r.nextDouble() < 0.2 ? 1 : 0) : r.nextInt(4));
            pollReconciler(paused ? 0 : laggingReconciler ? (r.nextDouble() < 0.2 ? 3 : 0) : r.nextInt(40));
            // Mixpanel's next scheduled sync: the default cadence is 30 minutes.
            env.clock.advance(Duration.ofMinutes(1 + r.nextInt(40)));
        }
        finish(capturedOutput);
    }

    private void syncOne(MixpanelSim.Cohort c, SplittableRandom r) {
        boolean full = !c.synced ? r.nextBoolean() : r.nextDouble() < 0.2;
        double m = r.nextDouble();
        MixpanelSim.PageMode mode = m < 0.7 ? MixpanelSim.PageMode.IN_ORDER
                : m < 0.85 ? MixpanelSim.PageMode.SHUFFLED : MixpanelSim.PageMode.CONCURRENT;
        mixpanel.sync(c, full, mode, r);
    }

    /** Mixpanel's cohort changes between syncs: some members leave, some users (new or returning) enter. */
    private void mutate(MixpanelSim.Cohort c, SplittableRandom r) {
        if (r.nextDouble() < 0.2) {
            return;
        }
        List<String> leftOut = List.copyOf(c.leftOut);
        if (!leftOut.isEmpty() && r.nextDouble() < 0.5) {
            // Someone the last full sync left out comes back: Mixpanel's next diff adds them again.
            for (int i = 0; i < 1 + r.nextInt(2); i++) {
                c.truth.add(leftOut.get(r.nextInt(leftOut.size())));
            }
        }
        List<String> members = new ArrayList<>(c.truth);
        int scale = c.big ? members.size() / 100 : 0;
        int leave = Math.min(members.size(), r.nextInt(6 + scale));
        for (int i = 0; i < leave; i++) {
            c.truth.remove(members.get(r.nextInt(members.size())));
        }
        int enter = r.nextInt(7 + scale);
        for (int i = 0; i < enter; i++) {
            String u = anyUser(c, r);
            c.truth.add(u);
            c.universe.add(u);
        }
        // A few users flap in and out from one sync to the next: their changes queue up back to back.
        int flaps = r.nextDouble() < 0.7 ? 1 + r.nextInt(4) : 0;
        for (int i = 0; i < flaps; i++) {
            String u = c.big ? bigUser(r.nextInt(8)) : user(r.nextInt(Math.min(c.userPool, 8)));
            if (!c.truth.remove(u)) {
                c.truth.add(u);
                c.universe.add(u);
            }
        }
    }

    /** The interval between empty receives of a poller running beside the syncs. */
    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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

    private void pollReconciler(int n) {
        for (int i = 0; i < n; i++) {
            if (!pollReconciler(true)) {
                return;
            }
        }
    }

    /**
     * One poll of the delta queue's event source, with the faults its stream draws when {@code faulty};
     * without faults it still reorders as a standard queue may, and sometimes runs two invocations at once.
     */
    private boolean poll(boolean faulty) {
        SplittableRandom r = Seeds.stream(seed, "poll", pollSeq++);
        if (!faulty) {
            boolean concurrent = r.nextDouble() < 0.2;
            return events.poll(new EventSource.PollPlan(Faults.Plan.NONE, Faults.Plan.NONE, r.nextDouble() < 0.5,
                    r.nextDouble() < 0.3, concurrent, false, false, false), r);
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
            return events.poll(plan, r);
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

    /** The sender's and the reconciler's port calls made only by some invocations or late in them. */
    private static final Set<String> RARE_SENDER_PORTS = Set.of("cohorts.load", "requeue.enqueueDelayed", "dlq.send");
    private static final Set<String> RARE_RECONCILER_PORTS = Set.of("cohorts.finishReconcile", "cohorts.finishMigration",
            "progress.report", "progress.decide", "progress.summary", "sessions.recordOutcome", "store.read",
            "store.commit", "store.commitUnlisted", "store.migrateLegacy", "deltas.enqueue", "jobs.enqueue",
            "jobs.enqueueDelayed");

    private Faults.Plan senderPlan(SplittableRandom r) {
        return plan(r, senderPortFaultRate, 4, RARE_SENDER_PORTS);
    }

    /**
     * A fault at the n-th of the first {@code calls} port calls, or (a third of them) at the first, second or
     * third call among the {@code rare} ones.
     */
    private static Faults.Plan plan(SplittableRandom r, double rate, int calls, Set<String> rare) {
        if (r.nextDouble() >= rate) {
            return Faults.Plan.NONE;
        }
        double k = r.nextDouble();
        Faults.Action action = k < 0.45 ? Faults.Action.THROTTLE
                : k < 0.65 ? Faults.Action.CRASH_BEFORE : Faults.Action.CRASH_AFTER;
        boolean targeted = r.nextDouble() < 0.33;
        return new Faults.Plan(action, targeted ? 1 + r.nextInt(3) : 1 + r.nextInt(calls), r.nextBoolean(),
                targeted ? rare : null);
    }

    /**
     * One poll of the reconcile queue's event source (batch size 1): the reconciler throttled or dying at
     * any of its port calls, records reordered, held back, delivered twice at once, redelivered after they
     * were done, copied, and now and then a poison message.
     */
    private boolean pollReconciler(boolean faulty) {
        SplittableRandom r = Seeds.stream(seed, "reconcile-poll", reconcilePollSeq++);
        if (!faulty) {
            return jobs.poll(new EventSource.PollPlan(Faults.Plan.NONE, Faults.Plan.NONE, r.nextDouble() < 0.5,
                    r.nextDouble() < 0.2, r.nextDouble() < 0.2, false, false, false), r);
        }
        if (r.nextDouble() < 0.01) {
            env.stack.sqs.sendMessage(b -> b.queueUrl(env.stack.reconcileQueueUrl).messageBody(POISON));
            reconcilePoisons++;
            stats.fault("reconcile-sqs-poison-message");
        }
        boolean concurrent = r.nextDouble() < 0.12;
        // A job makes a dozen or more port calls: load, checkpoint, session ids, scan, enqueue, commit, save, …
        EventSource.PollPlan plan = new EventSource.PollPlan(plan(r, reconcilerPortFaultRate, 14, RARE_RECONCILER_PORTS),
                concurrent ? plan(r, reconcilerPortFaultRate, 14, RARE_RECONCILER_PORTS) : Faults.Plan.NONE,
                r.nextDouble() < 0.3,
                r.nextDouble() < 0.15, concurrent, r.nextBoolean(), r.nextDouble() < 0.05, r.nextDouble() < 0.05);
        return jobs.poll(plan, r);
    }

    // ---- traffic stops ---------------------------------------------------------------------------

    private void finish(Supplier<String> capturedOutput) {
        // Mixpanel's next scheduled sync goes through cleanly: it re-sends whatever never got a 2xx.
        mixpanel.faultsOn = false;
        mixpanel.betweenRequests = () -> { };
        // The reconciler works while Mixpanel retries (a migration, say, finishes within its retries).
        mixpanel.betweenAttempts = () -> {
            for (int i = 0; i < RECONCILER_POLLS_PER_ROUND && pollReconciler(false); i++) {
                stats.count("reconciler polls while Mixpanel retried the last sync");
            }
        };
        SplittableRandom r = Seeds.stream(seed, "final");
        for (MixpanelSim.Cohort c : cohorts) {
            if (c.pendingRestart != null) {
                mixpanel.sync(c, true, MixpanelSim.PageMode.IN_ORDER, r);
            }
            mixpanel.sync(c, false, MixpanelSim.PageMode.IN_ORDER, r);
        }
        stats.add("messages on the delta queue when traffic stopped", messages(env.stack.queueUrl));
        stats.add("jobs on the reconcile queue when traffic stopped", messages(env.stack.reconcileQueueUrl));
        quiesce("after the last sync");
        // An operator reads the DLQs' reasons and replays what can be replayed.
        String output = capturedOutput.get();
        int replayed = replayDeltaDlq(output) + replayReconcileDlq(output);
        if (replayed > 0) {
            quiesce("after replaying the DLQs");
        }
        ChaosChecker.check(seed, env, List.copyOf(mixpanel.reports), cohorts, stats);
        ChaosChecker.checkReconcilerLog(seed, capturedOutput.get(), stats);
        ChaosChecker.countMarks(capturedOutput.get(), stats);
        String text = capturedOutput.get() + "\n" + mixpanel.answerBodies();
        for (String leak : new LeakScanner().scan(text)) {
            stats.violation(seed, "pii-or-secret-in-output", leak);
        }
    }

    private long messages(String queueUrl) {
        return env.stack.sqs.getQueueAttributes(b -> b.queueUrl(queueUrl)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)).attributes().values().stream()
                .mapToLong(Long::parseLong).sum();
    }

    private int replayDeltaDlq(String output) {
        List<Message> letters = drain(env.stack.dlqUrl);
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
        return replayed;
    }

    /**
     * The reconcile DLQ holds what failed {@code maxReceiveCount} times: each such job's last failure was
     * logged with its reason (or the reconciler died on that receive, or its delete was lost), poison was
     * logged as poison. Jobs are replayed onto the reconcile queue, as {@code cli replay --reconcile} does.
     */
    private int replayReconcileDlq(String output) {
        List<Message> letters = drain(env.stack.reconcileDlqUrl);
        Set<String> failuresLogged = ChaosChecker.reconcileFailuresLogged(output);
        int poisonFound = 0;
        int replayed = 0;
        for (Message m : letters) {
            if (POISON.equals(m.body())) {
                poisonFound++;
                continue;
            }
            EventSource.LastDelivery last = jobs.lastDelivery(m.messageId());
            if (last == EventSource.LastDelivery.FAILED && failuresLogged.contains(m.messageId())) {
                stats.count("reconcile DLQ: failed maxReceiveCount times, reason logged");
            } else if (last == EventSource.LastDelivery.CRASHED) {
                stats.count("reconcile DLQ: the reconciler died on the last receive");
            } else if (last == EventSource.LastDelivery.LOST_DELETE) {
                stats.count("reconcile DLQ: deletes that never happened");
            } else {
                stats.violation(seed, "reconcile-dlq-without-reason", "reconcile DLQ message " + m.messageId()
                        + " failed without a logged reason");
            }
            try {
                ReconcileJobCodec.decode(m.body());
                env.stack.sqs.sendMessage(b -> b.queueUrl(env.stack.reconcileQueueUrl).messageBody(m.body()));
                replayed++;
            } catch (MalformedDeltaException e) {
                stats.violation(seed, "reconcile-dlq-undecodable", "reconcile DLQ holds a body that is neither a job"
                        + " nor poison");
            }
        }
        stats.add("reconcile DLQ messages", letters.size());
        stats.add("reconcile DLQ jobs replayed", replayed);
        if (poisonFound < reconcilePoisons) {
            stats.violation(seed, "reconcile-poison-not-dead-lettered", (reconcilePoisons - poisonFound) + " of "
                    + reconcilePoisons + " poison messages are not in the reconcile DLQ");
        }
        return replayed;
    }

    /**
     * Until both queues are empty: the reconciler works off its jobs (queueing exits and re-announcements
     * for the sender), the sender sends. The simulated clock moves a minute per round, so deltas and jobs
     * whose commit died are dropped as never committed after 15 simulated minutes.
     */
    private void quiesce(String when) {
        for (int i = 0; i < MAX_QUIESCE_ROUNDS; i++) {
            boolean jobsDrained = jobs.drained();
            if (jobsDrained && events.drained()) {
                return;
            }
            for (int k = 0; k < RECONCILER_POLLS_PER_ROUND && pollReconciler(false); k++) {
                stats.count("reconciler polls while quiescing");
            }
            poll(false);
            env.clock.advance(Duration.ofSeconds(60));
        }
        stats.violation(seed, "did-not-quiesce", "the delta or reconcile queue was not empty after "
                + MAX_QUIESCE_ROUNDS + " rounds " + when);
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
