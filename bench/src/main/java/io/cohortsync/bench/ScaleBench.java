package io.cohortsync.bench;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.reconciler.ReconcilerConfig;
import io.cohortsync.reconciler.ReconcilerFactory;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code make bench-scale}: full syncs of large cohorts with a share of exits, and a rename of a large
 * cohort (cleanly, and with a crash injected mid-rename), through the real webhook and reconciler
 * handlers on {@link BilledPorts} (in memory, billed by DynamoDB's rules). What it measures is our code,
 * in process, one handler call at a time: page CPU and wall time, the reconcile's time, CPU and heap,
 * and what AWS would bill (units, calls, the per-partition limits' least wall time). {@link ScaleReport}
 * prints and writes it; ScaleSmokeTest runs it at tiny sizes in {@code make test}.
 */
final class ScaleBench {
    static final String PROJECT = Exports.PROJECT;
    static final String OLD_NAME = "Scale cohort (old name)";
    static final String NEW_NAME = "Scale cohort";
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final String QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/scale-";
    private static final PrintStream NOWHERE = new PrintStream(OutputStream.nullOutputStream());

    /**
     * @param sizes       cohort sizes of the full syncs
     * @param exitShare   share of each cohort absent from its full sync
     * @param renameUsers size of the renamed cohort (0: no rename)
     * @param passIds     RECONCILE_PASS_IDS: session ids one exit pass holds
     * @param heapEvery   a live-heap sample every this many chunks (and after each job's first)
     * @param warmupUsers a full sync and a rename of this size first, unmeasured, so the JIT is warm
     */
    record Settings(List<Integer> sizes, double exitShare, int renameUsers, int passIds, int pageSize, int heapEvery,
                    int warmupUsers, Path out) {
        Settings {
            if (sizes.isEmpty() || exitShare <= 0 || exitShare >= 1) {
                throw new IllegalArgumentException("need sizes and an exit share in (0, 1)");
            }
        }

        static Settings standard(Path out) {
            List<Integer> sizes = Arrays.stream(System.getProperty("scale.sizes", "10000,100000,1000000").split(","))
                    .map(String::strip).map(Integer::parseInt).toList();
            return new Settings(sizes, Double.parseDouble(System.getProperty("scale.exitShare", "0.01")),
                    Integer.getInteger("scale.renameUsers", 1_000_000),
                    Integer.getInteger("scale.passIds", ReconcileConfig.DEFAULT_PASS_IDS), 1000,
                    Integer.getInteger("scale.heapEvery", 16), Integer.getInteger("scale.warmupUsers", 20_000), out);
        }

        /** Seconds: proves the code and the checks work, not how fast. Small passes force several per shard. */
        static Settings smoke(Path out) {
            return new Settings(List.of(2_000, 5_000), 0.01, 3_000, 100, 1000, 1, 0, out);
        }

        int exitEvery() {
            return (int) Math.round(1 / exitShare);
        }
    }

    /** One webhook page: our code's wall and CPU time, and what it cost. */
    record Page(int page, double wallMs, double cpuMs, Ledger.Totals cost) {
    }

    /** One reconciler invocation (one job, as the reconcile queue's event source mapping delivers them). */
    record Job(String kind, int shard, int receiveCount, double wallMs, double cpuMs, boolean failed) {
    }

    /**
     * What a reconcile did, all jobs of it until the queue was empty.
     *
     * @param wallMs          in process, one job after another, minus the heap probe's GCs
     * @param slowestShardMs  the largest sum of one shard's jobs: on Lambda the shards run at once
     * @param streamCpuMs     of {@code cpuMs}, streaming the session's ids into passes
     * @param idsStreamed     session ids streamed (each pass streams its shard's ids again)
     * @param chunks          chunks committed (one checkpoint each)
     */
    record Reconcile(List<Job> jobs, Ledger.Totals cost, double wallMs, double cpuMs, double slowestShardMs,
                     double streamCpuMs, long idsStreamed, long idQueries, long chunks, long heapLiveBytes,
                     long heapUsedBytes, int heapSamples, long heapBaselineBytes) {
        long invocations() {
            return jobs.size();
        }

        long failed() {
            return jobs.stream().filter(Job::failed).count();
        }
    }

    /**
     * One full sync.
     *
     * @param exitsAnnounced  exit deltas queued (distinct users)
     * @param exitsRepeated   exit deltas queued for a user already announced
     * @param stateCorrect    every listed user is a member at version 1, every absent one exited at version 2
     */
    record FullSync(int users, int exits, List<Page> pages, Ledger.Totals webhook, Reconcile reconcile,
                    SessionOutcome outcome, long exitsAnnounced, long exitsRepeated, long entersAnnounced,
                    boolean stateCorrect, int perShardSessionIds) {
        int pageCount() {
            return pages.size();
        }
    }

    /**
     * One rename of a cohort whose members all were announced under the old name.
     *
     * @param exactlyOnce       members with exactly one distinct re-announcement (one messageId) that is their
     *                          final state (version 2, member, new name, old name false)
     * @param missing           members with none
     * @param twice             members with two or more distinct re-announcements
     * @param duplicateCopies   deltas queued again with the same content (same messageId: Segment keeps one),
     *                          e.g. the crashed chunk's uncommitted part, recomputed by the redelivered job
     * @param malformed         deltas that were not {member, new name, old name false}
     * @param stateCorrect      every member ends at version 2 under name version 2
     */
    record Rename(int users, boolean crash, Page request, Reconcile reconcile, long exactlyOnce, long missing,
                  long twice, long duplicateCopies, long malformed, boolean stateCorrect) {
        boolean everyMemberOnce() {
            return exactlyOnce == users && missing == 0 && twice == 0 && malformed == 0 && stateCorrect;
        }
    }

    record Results(Settings settings, ReconcilerConfig reconciler, List<FullSync> fullSyncs, List<Rename> renames,
                   double seconds, String jvm) {
    }

    private ScaleBench() {
    }

    static Results run(Settings s) {
        long started = System.nanoTime();
        PrintStream console = System.out;
        // The handlers log to stdout, as on Lambda: formatted (that CPU is theirs), then dropped.
        System.setOut(NOWHERE);
        try {
            if (s.warmupUsers() > 0) {
                progress("warm-up: a full sync and a rename of " + s.warmupUsers() + " users (not measured)");
                fullSync(s, s.warmupUsers());
                rename(s, s.warmupUsers(), false);
            }
            List<FullSync> syncs = new ArrayList<>();
            for (int users : s.sizes()) {
                System.gc();
                syncs.add(fullSync(s, users));
            }
            List<Rename> renames = new ArrayList<>();
            if (s.renameUsers() > 0) {
                System.gc();
                renames.add(rename(s, s.renameUsers(), false));
                System.gc();
                renames.add(rename(s, s.renameUsers(), true));
            }
            return new Results(s, ReconcilerConfig.fromEnvironment(environment(s)), syncs, renames,
                    (System.nanoTime() - started) / 1e9, System.getProperty("java.vm.name") + " "
                    + System.getProperty("java.version") + ", " + String.join(" ",
                    ManagementFactory.getRuntimeMXBean().getInputArguments()));
        } finally {
            System.setOut(console);
        }
    }

    // ------------------------------------------------------------------ scenarios

    /** A cohort of {@code users} members, then a full sync without every {@link Settings#exitEvery()}-th of them. */
    static FullSync fullSync(Settings s, int users) {
        BilledPorts ports = new BilledPorts(true);
        CohortRef cohort = new CohortRef(PROJECT, "scale-" + users);
        String name = NEW_NAME;
        progress("full sync of " + users + ": seeding the cohort (not measured)");
        seed(ports, cohort, name, "m", users);
        Handlers h = handlers(ports, s);
        int every = s.exitEvery();
        int exits = (users + every - 1) / every;
        int listed = users - exits;
        int pages = (listed + s.pageSize() - 1) / s.pageSize();
        byte[] exitSeen = new byte[users];
        long[] enters = {0};
        long[] repeated = {0};
        ports.deltas.listener = batch -> {
            for (Delta d : batch) {
                if (d.member()) {
                    enters[0]++;
                } else {
                    int i = index(d.distinctId(), 1);
                    if (exitSeen[i] != 0) {
                        repeated[0]++;
                    }
                    exitSeen[i] = 1;
                }
            }
        };
        String session = "full-" + users;
        progress("full sync of " + users + ": " + pages + " webhook pages");
        Ledger.Totals beforePages = ports.ledger.totals();
        List<Page> measured = new ArrayList<>(pages);
        int next = 0;
        for (int page = 1; page <= pages; page++) {
            List<String> slice = new ArrayList<>(s.pageSize());
            while (slice.size() < s.pageSize() && next < users) {
                if (next % every != 0) {
                    slice.add("m" + next + "@example.com");
                }
                next++;
            }
            measured.add(post(ports, h.webhook, page, Exports.members(cohort.cohortId(), name, session, page, pages, slice)));
        }
        Ledger.Totals webhook = ports.ledger.totals().minus(beforePages);
        progress("full sync of " + users + ": reconciling");
        Reconcile reconcile = reconcile(ports, h.reconciler, s);
        SessionOutcome outcome = ports.state.sessions.outcome(new SessionKey(cohort, session)).orElse(null);
        boolean correct = true;
        long announced = 0;
        for (int i = 0; i < users; i++) {
            Membership m = ports.state.members.get(cohort, "m" + i + "@example.com");
            boolean absent = i % every == 0;
            correct &= absent ? !m.member() && m.version() == 2 : m.member() && m.version() == 1;
            announced += exitSeen[i];
        }
        progress("full sync of " + users + ": done, " + announced + " exits, reconcile "
                + Math.round(reconcile.wallMs()) + " ms in " + reconcile.invocations() + " invocations");
        return new FullSync(users, exits, measured, webhook, reconcile, outcome, announced, repeated[0], enters[0],
                correct, (int) Math.ceil((double) listed / Shards.COUNT));
    }

    /**
     * A cohort of {@code users} members announced under {@link #OLD_NAME}, then a call under {@link #NEW_NAME}
     * (an empty diff, as Mixpanel sends every interval) and the reconciler's re-announcement. With
     * {@code crash}, the invocation that runs the middle chunk dies after committing half of it and SQS
     * delivers the job again.
     */
    static Rename rename(Settings s, int users, boolean crash) {
        BilledPorts ports = new BilledPorts(true);
        CohortRef cohort = new CohortRef(PROJECT, "rename-" + users);
        progress("rename of " + users + (crash ? " with a crash mid-rename" : "") + ": seeding the cohort (not measured)");
        seed(ports, cohort, OLD_NAME, "r", users);
        Handlers h = handlers(ports, s);
        int[] copies = new int[users];
        int[] versions = new int[users];
        long[] malformed = {0};
        ports.deltas.listener = batch -> {
            for (Delta d : batch) {
                int i = index(d.distinctId(), 1);
                copies[i]++;
                versions[i] |= 1 << Math.min(31, (int) d.version());
                if (!d.member() || !NEW_NAME.equals(d.cohortName()) || !OLD_NAME.equals(d.previousName())) {
                    malformed[0]++;
                }
            }
        };
        if (crash) {
            // The middle chunk of the whole rename: far from any shard's start or end.
            long target = Math.max(1, (long) Math.ceil((double) users / ReconcileConfig.DEFAULT_CHUNK / 2));
            long[] commits = {0};
            ports.members.crashHook = changes -> {
                if (++commits[0] == target) {
                    ports.members.crashHook = null; // once
                    return changes.size() / 2;
                }
                return -1;
            };
        }
        Page request = post(ports, h.webhook, 1, Exports.add(cohort.cohortId(), NEW_NAME, List.of()));
        progress("rename of " + users + ": reconciling");
        Reconcile reconcile = reconcile(ports, h.reconciler, s);
        long once = 0;
        long missing = 0;
        long twice = 0;
        long duplicates = 0;
        boolean correct = true;
        for (int i = 0; i < users; i++) {
            int distinct = Integer.bitCount(versions[i]);
            if (distinct == 0) {
                missing++;
            } else if (distinct > 1) {
                twice++;
            } else if (versions[i] == 1 << 2) {
                once++;
            }
            duplicates += Math.max(0, copies[i] - distinct);
            Membership m = ports.state.members.get(cohort, "r" + i + "@example.com");
            correct &= m.member() && m.version() == 2 && m.nameVersion() == 2;
        }
        progress("rename of " + users + ": done, " + once + " announced once, " + duplicates + " duplicate copies, "
                + reconcile.failed() + " failed invocations");
        return new Rename(users, crash, request, reconcile, once, missing, twice, duplicates, malformed[0], correct);
    }

    // ------------------------------------------------------------------ driving the handlers

    private record Handlers(WebhookHandler webhook, ReconcilerHandler reconciler) {
    }

    /** The variables a deployment gives both functions (queue URLs only name queues: nothing is sent). */
    static Map<String, String> environment(Settings s) {
        Map<String, String> env = new HashMap<>();
        env.put("TABLE_NAME", "scale");
        env.put("DELTA_QUEUE_URL", QUEUE + "deltas");
        env.put("RECONCILE_QUEUE_URL", QUEUE + "reconcile");
        env.put("WEBHOOK_SECRET_ID", "scale/webhook");
        env.put("RECONCILE_PASS_IDS", Integer.toString(s.passIds()));
        return env;
    }

    /** Both handlers as their factories wire them, on the billed ports (history off, as in make bench). */
    private static Handlers handlers(BilledPorts ports, Settings s) {
        Map<String, String> env = environment(s);
        Clock clock = Clock.systemUTC();
        SecretSource secret = id -> "{\"username\":\"" + AwsStack.WEBHOOK_USERNAME + "\",\"password\":\""
                + AwsStack.WEBHOOK_PASSWORD + "\"}";
        WebhookHandler webhook = WebhookHandler.of(WebhookFactory.create(WebhookConfig.fromEnvironment(env),
                new WebhookPorts(ports.members, ports.deltas, ports.sessions, ports.cohorts, ports.jobs, ports.progress,
                SyncHistory.DISABLED, secret), clock));
        ReconcilerHandler reconciler = ReconcilerHandler.of(ReconcilerFactory.create(ReconcilerConfig.fromEnvironment(env),
                ports.members, ports.sessions, ports.cohorts, ports.progress, ports.jobs, ports.deltas,
                SyncHistory.DISABLED, NOWHERE, clock));
        return new Handlers(webhook, reconciler);
    }

    /**
     * The members, stored as an earlier sync left them (version 1, announced under the cohort's first name), and
     * the cohort item with that sync's record (README "Cohorts that stop syncing"), so the measured requests
     * are the ones of a cohort in steady state, not its first recorded call.
     */
    private static void seed(BilledPorts ports, CohortRef cohort, String name, String prefix, int users) {
        ports.state.cohorts.create(cohort, CohortState.first(name, Instant.now(), "members"));
        for (int from = 0; from < users; from += 10_000) {
            List<Change> changes = new ArrayList<>();
            for (int i = from; i < Math.min(users, from + 10_000); i++) {
                changes.add(new Change(prefix + i + "@example.com", Membership.ABSENT, new Membership(true, 1, null, 1, 0)));
            }
            ports.state.members.commit(cohort, changes);
        }
    }

    private static Page post(BilledPorts ports, WebhookHandler webhook, int page, String body) {
        var event = ApiGatewayEvents.post(body);
        var context = LambdaContexts.withRemaining("scale-webhook", Duration.ofSeconds(29));
        Ledger.Totals before = ports.ledger.totals();
        long t0 = System.nanoTime();
        long c0 = THREADS.getCurrentThreadCpuTime();
        APIGatewayV2HTTPResponse response = webhook.handleRequest(event, context);
        long cpu = THREADS.getCurrentThreadCpuTime() - c0;
        long wall = System.nanoTime() - t0;
        if (response.getStatusCode() != 200) {
            throw new IllegalStateException("webhook answered " + response.getStatusCode() + ": " + response.getBody());
        }
        return new Page(page, wall / 1e6, cpu / 1e6, ports.ledger.totals().minus(before));
    }

    /**
     * Delivers the reconcile queue's jobs to the reconciler one per invocation, as its event source
     * mapping would (a record reported failed comes back), until the queue is empty. Each invocation
     * also costs the mapping a ReceiveMessage, and a DeleteMessageBatch when it succeeded.
     */
    private static Reconcile reconcile(BilledPorts ports, ReconcilerHandler reconciler, Settings s) {
        Ledger.Totals before = ports.ledger.totals();
        long ids0 = ports.sessions.idsStreamed;
        long idQueries0 = ports.sessions.idQueries;
        long stream0 = ports.sessions.streamCpuNanos;
        long saves0 = ports.progress.saves;
        List<Job> jobs = new ArrayList<>();
        Map<Integer, Double> byShard = new LinkedHashMap<>();
        double wallMs = 0;
        double cpuMs = 0;
        long limit = 100_000;
        try (HeapProbe heap = new HeapProbe(s.heapEvery())) {
            ports.progress.afterSave = heap::onChunk;
            for (BilledPorts.Queued q; (q = ports.jobs.poll()) != null; ) {
                if (jobs.size() >= limit) {
                    throw new IllegalStateException("the reconcile did not finish within " + limit + " invocations");
                }
                SQSEvent event = event(q);
                var context = LambdaContexts.withRemaining("scale-reconciler", Duration.ofSeconds(120));
                heap.onJob();
                long p0 = heap.pausedNanos();
                long pc0 = heap.pausedCpuNanos();
                long t0 = System.nanoTime();
                long c0 = THREADS.getCurrentThreadCpuTime();
                SQSBatchResponse response = reconciler.handleRequest(event, context);
                long cpu = THREADS.getCurrentThreadCpuTime() - c0 - (heap.pausedCpuNanos() - pc0);
                long wall = System.nanoTime() - t0 - (heap.pausedNanos() - p0);
                boolean failed = response.getBatchItemFailures() != null && !response.getBatchItemFailures().isEmpty();
                ports.ledger.sqs("Sqs.ReceiveMessage", 1);
                if (failed) {
                    ports.jobs.redeliver(q);
                } else {
                    ports.ledger.sqs("Sqs.DeleteMessageBatch", 1);
                }
                jobs.add(new Job(q.job().kind().name(), q.job().shard(), q.receiveCount(), wall / 1e6, cpu / 1e6, failed));
                byShard.merge(q.job().shard(), wall / 1e6, Double::sum);
                wallMs += wall / 1e6;
                cpuMs += cpu / 1e6;
            }
            ports.progress.afterSave = () -> { };
            return new Reconcile(jobs, ports.ledger.totals().minus(before), wallMs, cpuMs,
                    byShard.values().stream().mapToDouble(Double::doubleValue).max().orElse(0),
                    (ports.sessions.streamCpuNanos - stream0) / 1e6, ports.sessions.idsStreamed - ids0,
                    ports.sessions.idQueries - idQueries0, ports.progress.saves - saves0, heap.peakLiveBytes(), heap.peakUsedBytes(), heap.samples(),
                    heap.baselineBytes());
        }
    }

    private static SQSEvent event(BilledPorts.Queued q) {
        Message m = Message.builder().messageId(UUID.randomUUID().toString()).receiptHandle("rh-" + UUID.randomUUID())
                .body(ReconcileJobCodec.encode(q.job())).md5OfBody("0")
                .attributesWithStrings(Map.of(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT.toString(),
                        Integer.toString(q.receiveCount())))
                .build();
        return SqsEvents.event(QUEUE + "reconcile", List.of(m));
    }

    /** The number in an id made as {@code <prefix><i>@example.com}. */
    static int index(String id, int prefixLength) {
        int at = id.indexOf('@');
        return Integer.parseInt(id, prefixLength, at, 10);
    }

    static void progress(String message) {
        System.err.printf("[bench-scale %tT] %s%n", System.currentTimeMillis(), message);
    }
}
