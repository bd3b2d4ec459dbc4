package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.bench.launch.BareSdkHandler;
import io.cohortsync.bench.launch.EmptyHandler;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.segment.SegmentCalls;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.SegmentStandIn;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Runs every phase of the benchmark against the AWS emulator the SDK is pointed at ({@code aws.endpointUrl})
 * and a Segment stand-in, and returns what it measured. {@link BenchMain} is {@code make bench};
 * BenchSmokeIT runs the same code at a tiny scale in {@code make test}.
 */
public final class Benchmark {
    static final String PROJECT = Exports.PROJECT;
    /** The functions whose packages are built and cold-started, as template.yaml names them. */
    static final List<String> FUNCTIONS = List.of("WebhookFunction", "ReconcilerFunction", "SenderFunction");
    static final String FULL_SYNC_COHORT = "full-1";
    static final String FULL_SYNC_NAME = "Full sync cohort";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param incrementalPages  pages of the incremental workload (half add pages, half remove pages)
     * @param fullSyncUsers     size of the cohort of the no-op re-sync and of the full sync with exits
     * @param exitShare         share of that cohort absent from the full sync with exits
     * @param coldStartRequests requests each function's cold-start launch answers: the first, then warm ones (at
     *                          least 3)
     * @param overrides         function variables set differently from the template in the workloads
     * @param batchingWindow    the event source mapping's MaximumBatchingWindowInSeconds
     */
    public record Settings(Path repo, Path out, int incrementalPages, int pageSize, int fullSyncUsers,
                           double exitShare, int cpuWarmup, int cpuIterations, int coldStartRuns,
                           int coldStartRequests, Map<String, String> overrides, Duration batchingWindow) {
        public Settings {
            if (incrementalPages < 2 || incrementalPages % 2 != 0) {
                throw new IllegalArgumentException("incrementalPages must be even and >= 2");
            }
            if (coldStartRequests < 3) {
                throw new IllegalArgumentException("coldStartRequests must be >= 3 (the first, then warm ones)");
            }
            if (fullSyncUsers % pageSize != 0) {
                throw new IllegalArgumentException("fullSyncUsers must be a multiple of pageSize");
            }
        }

        /** What {@code make bench} runs: sizes that fit 15 minutes on moto (bench/README.md says why). */
        public static Settings standard(Path repo, Path out) {
            Integer concurrency = Integer.getInteger("bench.commitConcurrency");
            return new Settings(repo, out, Integer.getInteger("bench.incrementalPages", 50), 1000,
                    Integer.getInteger("bench.fullSyncUsers", 50_000), 0.10, 100, 100,
                    Integer.getInteger("bench.coldStartRuns", 3), Integer.getInteger("bench.coldStartRequests", 6),
                    concurrency == null ? Map.of() : Map.of("COMMIT_CONCURRENCY", concurrency.toString()),
                    EventSourceMapping.BATCHING_WINDOW);
        }

        /**
         * Seconds, not minutes: proves the code runs, not how fast. Deltas are not delayed and the
         * batching window is 1 s, which changes no count here (each drain is one batch either way).
         */
        public static Settings smoke(Path repo, Path out) {
            return new Settings(repo, out, 2, 1000, 2000, 0.10, 5, 5, Integer.getInteger("bench.coldStartRuns", 1), 3,
                    Map.of("DELTA_DELAY_SECONDS", "0"),
                    Duration.ofSeconds(1));
        }
    }

    /** Everything measured, for {@link Report}. */
    record Results(Settings settings, Prices prices, Template template, int commitConcurrency, JsonNode cpu,
                   List<ColdStartResult> coldStarts, Phase incremental, Phase noop, Phase exits,
                   Map<String, Object> checks, double totalSeconds) {
    }

    /**
     * A function's cold starts under the runtime client and, from the same rounds, the two baselines': the
     * empty handler's and the bare-SDK handler's (shared by every function's result).
     *
     * @param launches       on-demand cold starts: the first request pays for every first use
     * @param primedLaunches the same package under SnapStart's flow: the runtime client ran the hooks (priming)
     *                       before the first request
     */
    record ColdStartResult(String function, ColdStart.Package pkg, List<ColdStart.Launch> launches,
                           List<ColdStart.Launch> primedLaunches, List<ColdStart.Launch> emptyLaunches,
                           List<ColdStart.Launch> bareSdkLaunches) {
        /** The first request's median (event taken to response posted), on-demand: without priming. */
        double firstRequestMs() {
            return Stats.median(launches.stream().map(ColdStart.Launch::firstRequestMs).toList());
        }

        /** The same after the SnapStart hooks primed the JVM. */
        double primedFirstRequestMs() {
            return Stats.median(primedLaunches.stream().map(ColdStart.Launch::firstRequestMs).toList());
        }

        /** A warm request: the median over every launch (both kinds) of its warm requests' median. */
        double warmRequestMs() {
            List<Double> warm = new ArrayList<>();
            launches.forEach(l -> warm.add(l.warmMs()));
            primedLaunches.forEach(l -> warm.add(l.warmMs()));
            return Stats.median(warm);
        }

        double primingMs() {
            return Stats.median(primedLaunches.stream().map(ColdStart.Launch::primeMs).toList());
        }

        /**
         * The SnapStart target (≤ 2): each primed launch's first request over the warm requests of the same JVM,
         * the median over launches. Within one JVM, because this machine is shared: a launch that ran while
         * another build was busy is slow throughout, which a ratio of medians over different launches would mix in.
         */
        double primedToWarm() {
            return Stats.median(primedLaunches.stream().map(l -> l.firstRequestMs() / l.warmMs()).toList());
        }

        double firstResponseMs() {
            return median(launches, ColdStart.Launch::firstResponseMs);
        }

        double emptyFirstResponseMs() {
            return median(emptyLaunches, ColdStart.Launch::firstResponseMs);
        }

        double bareSdkFirstResponseMs() {
            return median(bareSdkLaunches, ColdStart.Launch::firstResponseMs);
        }

        /** First response over the empty handler's. */
        double ratio() {
            return firstResponseMs() / emptyFirstResponseMs();
        }

        /** First response over the bare-SDK handler's: the target is at most 1.2. */
        double bareSdkRatio() {
            return firstResponseMs() / bareSdkFirstResponseMs();
        }

        /** The runtime's own start: the empty handler's init (JVM and runtime client up to its first GET /next). */
        double runtimeStartMs() {
            return median(emptyLaunches, ColdStart.Launch::initMs);
        }

        /** This handler's share of init: its init (process start to first GET /next) less the runtime's start. */
        double initMs() {
            return median(launches, ColdStart.Launch::initMs) - runtimeStartMs();
        }

        double firstInvokeMs() {
            return median(launches, ColdStart.Launch::invokeMs);
        }

        double bareSdkInitMs() {
            return median(bareSdkLaunches, ColdStart.Launch::initMs) - runtimeStartMs();
        }

        double bareSdkFirstInvokeMs() {
            return median(bareSdkLaunches, ColdStart.Launch::invokeMs);
        }

        double emptyFirstInvokeMs() {
            return median(emptyLaunches, ColdStart.Launch::invokeMs);
        }

        private static double median(List<ColdStart.Launch> l, ToDoubleFunction<ColdStart.Launch> f) {
            return Stats.median(l.stream().map(f::applyAsDouble).toList());
        }

        double fastest() {
            return Stats.percentile(launches.stream().map(ColdStart.Launch::firstResponseMs).toList(), 0);
        }

        double bareSdkFastest() {
            return Stats.percentile(bareSdkLaunches.stream().map(ColdStart.Launch::firstResponseMs).toList(), 0);
        }

        double emptyFastest() {
            return Stats.percentile(emptyLaunches.stream().map(ColdStart.Launch::firstResponseMs).toList(), 0);
        }
    }

    private Benchmark() {
    }

    public static Results run(Settings s) throws Exception {
        long started = System.nanoTime();
        Files.createDirectories(s.out());
        Prices prices = Prices.load(s.repo().resolve("bench/prices.json"));
        Template template = Template.load(s.repo());
        Map<String, Object> checks = new LinkedHashMap<>();

        progress("the function packages: make build-WebhookFunction / build-ReconcilerFunction / build-SenderFunction "
                + "in a copy of the repository (reused when this tree was built before)");
        List<ColdStart.Package> packages = ColdStart.buildPackages(s.repo(), s.out().resolve("sam"), FUNCTIONS);
        progress("CPU probe: the handlers on in-memory ports, in a JVM with " + template.javaToolOptionsString());
        JsonNode cpu = cpuProbe(template, s.cpuWarmup(), s.cpuIterations());

        PrintStream console = System.out;
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
             LogCapture logs = new LogCapture(s.out().resolve("function-logs.jsonl"));
             EmulatorClients clients = new EmulatorClients()) {
            // The webhook logs to stdout, as on Lambda: capture it (and count its bytes) for the whole run.
            System.setOut(logs.stream());
            try {
                List<ColdStartResult> coldStarts = coldStarts(s, template, packages);
                Pipeline incrementalPipeline = new Pipeline(AwsStack.create(), clients, segment, logs, s.overrides(),
                        s.batchingWindow());
                Phase incremental = incremental(incrementalPipeline, segment, logs, s, checks);
                Pipeline fullPipeline = new Pipeline(AwsStack.create(), clients, segment, logs, s.overrides(),
                        s.batchingWindow());
                Phase noop = noopResync(fullPipeline, segment, logs, s, checks);
                Phase exits = fullSyncWithExits(fullPipeline, segment, logs, s, checks);
                checks.put("segmentDuplicates", segment.duplicates());
                checks.put("segmentDroppedOverLimit", segment.droppedOverLimit());
                checks.put("segmentDroppedInvalid", segment.droppedInvalid());
                return new Results(s, prices, template, incrementalPipeline.webhookConfig.commitConcurrency(), cpu,
                        coldStarts, incremental, noop, exits, checks, (System.nanoTime() - started) / 1e9);
            } finally {
                System.setOut(console);
            }
        }
    }

    /**
     * The incremental workload alone ({@code -Dbench.only=segment}): what reaches Segment per {@code /v1/batch}
     * request, with the Segment calls {@code -Dbench.segmentCalls} names ({@code SEGMENT_CALLS}, default
     * identify). Minutes, not 20: no packages, CPU probe, cold starts or full syncs.
     */
    static Phase segmentOnly(Settings s) throws Exception {
        Files.createDirectories(s.out());
        Map<String, String> overrides = new java.util.HashMap<>(s.overrides());
        String calls = System.getProperty("bench.segmentCalls");
        if (calls != null && !calls.isBlank()) {
            overrides.put("SEGMENT_CALLS", calls);
        }
        PrintStream console = System.out;
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
             LogCapture logs = new LogCapture(s.out().resolve("function-logs.jsonl"));
             EmulatorClients clients = new EmulatorClients()) {
            System.setOut(logs.stream());
            try {
                Pipeline p = new Pipeline(AwsStack.create(), clients, segment, logs, overrides, s.batchingWindow());
                Phase phase = incremental(p, segment, logs, s, new LinkedHashMap<>());
                if (segment.droppedOverLimit() + segment.droppedInvalid() > 0) {
                    throw new IllegalStateException("Segment dropped messages: over the limit "
                            + segment.droppedOverLimit() + ", invalid " + segment.droppedInvalid());
                }
                return phase;
            } finally {
                System.setOut(console);
            }
        }
    }

    /** The packages' cold starts alone ({@code -Dbench.only=cold-start}). */
    static List<ColdStartResult> coldStartsOnly(Settings s) throws Exception {
        Files.createDirectories(s.out());
        Template template = Template.load(s.repo());
        progress("the function packages: make build-WebhookFunction / build-ReconcilerFunction / build-SenderFunction "
                + "in a copy of the repository (reused when this tree was built before)");
        List<ColdStart.Package> packages = ColdStart.buildPackages(s.repo(), s.out().resolve("sam"), FUNCTIONS);
        return coldStarts(s, template, packages);
    }

    // ------------------------------------------------------------------ workloads

    /** Adds and removes over many cohorts, pages of {@code pageSize}: every listed user really changes. */
    private static Phase incremental(Pipeline p, SegmentStandIn segment, LogCapture logs, Settings s,
                                     Map<String, Object> checks) {
        int cohorts = s.incrementalPages() / 2;
        int size = s.pageSize();
        progress("incremental: seeding " + cohorts + " cohorts with " + size + " members each (the users the remove pages remove)");
        for (int k = 0; k < cohorts; k++) {
            seedCohort(p.stack, new CohortRef(PROJECT, "inc-" + k), "Incremental cohort " + k,
                    Exports.users("k" + k + "-r", 0, size));
        }
        List<String> bodies = new ArrayList<>();
        for (int k = 0; k < cohorts; k++) {
            bodies.add("add:" + k);
            bodies.add("remove:" + k);
        }
        long changes = (long) s.incrementalPages() * size;
        Mark mark = Mark.take(segment, logs);
        List<Invocation> webhook = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < bodies.size(); i++) {
            String[] page = bodies.get(i).split(":");
            int k = Integer.parseInt(page[1]);
            String cohort = "inc-" + k;
            String name = "Incremental cohort " + k;
            String body = page[0].equals("add")
                    ? Exports.add(cohort, name, Exports.users("k" + k + "-a", 0, size))
                    : Exports.remove(cohort, name, Exports.users("k" + k + "-r", 0, size));
            webhook.add(p.post(body));
            if ((i + 1) % 10 == 0 || i + 1 == bodies.size()) {
                progress("incremental: webhook page " + (i + 1) + "/" + bodies.size());
            }
        }
        double webhookSeconds = (System.nanoTime() - t0) / 1e9;
        progress("incremental: sender draining " + changes + " deltas");
        long t1 = System.nanoTime();
        // Each change is one message per Segment call (identify and/or its track event, SEGMENT_CALLS).
        SegmentCalls calls = SegmentCalls.parse(p.environment.get("SEGMENT_CALLS"));
        long messages = changes * ((calls.identifies() ? 1 : 0) + (calls.tracks() ? 1 : 0));
        List<Invocation> sender = p.drain(() -> (int) (messages - mark.identifiesSince(segment)),
                Duration.ofSeconds(120 + messages / 100));
        double senderSeconds = (System.nanoTime() - t1) / 1e9;
        checks.put("incrementalIdentifiesAccepted", mark.identifiesSince(segment));
        return mark.phase("incremental", "adds and removes over " + cohorts + " cohorts, pages of " + size
                        + ", webhook then sender", s.incrementalPages(), changes, changes, webhook, List.of(), sender,
                segment, logs, webhookSeconds, 0, senderSeconds, p.failedRecords());
    }

    /** A cohort already in sync, re-sent as a multi-page members export: nothing may change. */
    private static Phase noopResync(Pipeline p, SegmentStandIn segment, LogCapture logs, Settings s,
                                    Map<String, Object> checks) {
        int users = s.fullSyncUsers();
        int pages = users / s.pageSize();
        progress("no-op re-sync: seeding a cohort of " + users + " members");
        CohortRef cohort = new CohortRef(PROJECT, FULL_SYNC_COHORT);
        seedCohort(p.stack, cohort, FULL_SYNC_NAME, Exports.users("f", 0, users));
        Mark mark = Mark.take(segment, logs);
        long t0 = System.nanoTime();
        List<Invocation> webhook = postFullSync(p, "noop-session", Exports.users("f", 0, users), s.pageSize(), "no-op re-sync");
        double webhookSeconds = (System.nanoTime() - t0) / 1e9;
        ReconcileRun reconcile = reconcile(p, users, "no-op re-sync");
        checks.put("noopIdentifiesAccepted", mark.identifiesSince(segment));
        Phase phase = mark.phase("noop-resync", users + " users already in sync, re-sent as a " + pages
                        + "-page members export; the reconciler's exit pass finds nobody to exit", pages, users, 0, webhook,
                reconcile.invocations, List.of(), segment, logs, webhookSeconds, reconcile.seconds, 0, p.failedRecords());
        // Checked after the phase's counters were read, so the check's own read is not billed to it.
        checks.put("noopSessionOutcome", expectOutcome(p.stack, new SessionKey(cohort, "noop-session"), users, 0));
        return phase;
    }

    /** The same cohort, then a full sync in which {@code exitShare} of it is absent. */
    private static Phase fullSyncWithExits(Pipeline p, SegmentStandIn segment, LogCapture logs, Settings s,
                                           Map<String, Object> checks) {
        int users = s.fullSyncUsers();
        int exits = (int) Math.round(users * s.exitShare());
        List<String> kept = Exports.users("f", 0, users - exits);
        int pages = (kept.size() + s.pageSize() - 1) / s.pageSize();
        Mark mark = Mark.take(segment, logs);
        long t0 = System.nanoTime();
        List<Invocation> webhook = postFullSync(p, "exit-session", kept, s.pageSize(), "full sync with exits");
        double webhookSeconds = (System.nanoTime() - t0) / 1e9;
        ReconcileRun reconcile = reconcile(p, users, "full sync with exits");
        progress("full sync with exits: sender draining " + exits + " exits");
        long t1 = System.nanoTime();
        List<Invocation> sender = p.drain(() -> (int) (exits - mark.identifiesSince(segment)),
                Duration.ofSeconds(120 + exits / 100));
        double senderSeconds = (System.nanoTime() - t1) / 1e9;
        checks.put("exitIdentifiesAccepted", mark.identifiesSince(segment));
        Phase phase = mark.phase("full-sync-exits", users + " members, then a " + pages + "-page full sync without "
                        + exits + " of them (" + Math.round(s.exitShare() * 100) + "% left); the reconciler exits them",
                pages, kept.size(), exits, webhook, reconcile.invocations, sender, segment, logs, webhookSeconds,
                reconcile.seconds, senderSeconds, p.failedRecords());
        checks.put("exitSessionOutcome", expectOutcome(p.stack,
                new SessionKey(new CohortRef(PROJECT, FULL_SYNC_COHORT), "exit-session"), users, exits));
        return phase;
    }

    private record ReconcileRun(List<Invocation> invocations, double seconds) {
    }

    /** The reconciler drains the jobs the session's last page queued (count, then apply, per shard). */
    private static ReconcileRun reconcile(Pipeline p, int users, String label) {
        progress(label + ": the reconciler runs the exit pass (16 count jobs; 16 apply jobs only if the count found someone to exit)");
        long t0 = System.nanoTime();
        List<Invocation> invocations = p.reconcile(Duration.ofSeconds(300 + users / 100));
        double seconds = (System.nanoTime() - t0) / 1e9;
        progress(label + ": reconciler done, " + invocations.size() + " invocations in " + Math.round(seconds) + " s");
        return new ReconcileRun(invocations, seconds);
    }

    /** The session's exit pass reached APPLIED with the counts the workload implies, else the bench fails. */
    private static String expectOutcome(AwsStack stack, SessionKey session, long members, long exits) {
        SessionOutcome outcome = new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72),
                Clock.systemUTC()).outcome(session).orElse(null);
        SessionOutcome expected = new SessionOutcome(SessionOutcome.Status.APPLIED,
                outcome == null ? 0 : outcome.epoch(), members, exits);
        if (!expected.equals(outcome)) {
            throw new IllegalStateException("session " + session.sessionId() + " ended " + outcome + ", expected "
                    + expected);
        }
        return outcome.status() + " " + outcome.members() + " members, " + outcome.exits() + " exits";
    }

    private static List<Invocation> postFullSync(Pipeline p, String session, List<String> users, int pageSize,
                                                 String label) {
        int pages = (users.size() + pageSize - 1) / pageSize;
        List<Invocation> webhook = new ArrayList<>();
        for (int page = 1; page <= pages; page++) {
            List<String> slice = users.subList((page - 1) * pageSize, Math.min(users.size(), page * pageSize));
            webhook.add(p.post(Exports.members(FULL_SYNC_COHORT, FULL_SYNC_NAME, session, page, pages, slice)));
            if (page % 20 == 0 || page == pages) {
                progress(label + ": webhook page " + page + "/" + pages
                        + (page == pages ? " (the last: it queued the exit pass, " + Math.round(webhook.getLast().wallMs())
                        + " ms)" : ""));
            }
        }
        return webhook;
    }

    /**
     * A cohort already known and in the sharded layout, its members stored at version 1 under the current
     * name, written straight to the table: setup, not measured (outside every phase's counters).
     */
    static void seedCohort(AwsStack stack, CohortRef cohort, String name, List<String> users) {
        new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), Clock.systemUTC())
                // with a recent sync record, as the webhook leaves a cohort it synced: measured calls are steady state
                .create(cohort, CohortState.first(name, Clock.systemUTC().instant(), "members"));
        for (int from = 0; from < users.size(); from += 25) {
            List<WriteRequest> writes = new ArrayList<>();
            for (String u : users.subList(from, Math.min(users.size(), from + 25))) {
                Map<String, AttributeValue> item = new HashMap<>();
                item.put(Keys.PK, AttributeValue.fromS(Keys.membershipPk(cohort, u)));
                item.put(Keys.SK, AttributeValue.fromS(u));
                item.put("m", AttributeValue.fromBool(true));
                item.put("v", AttributeValue.fromN("1"));
                item.put("n", AttributeValue.fromN("1"));
                writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
            }
            Map<String, List<WriteRequest>> pending = Map.of(stack.tableName, writes);
            while (!pending.isEmpty()) {
                Map<String, List<WriteRequest>> send = pending;
                var response = stack.dynamo.batchWriteItem(b -> b.requestItems(send));
                pending = response.hasUnprocessedItems() ? response.unprocessedItems() : Map.of();
            }
        }
    }

    /** Counters at the start of a phase. */
    private record Mark(Map<String, Long> calls, Meter.Reading billing, int segmentRequests, long logBytes) {
        static Mark take(SegmentStandIn segment, LogCapture logs) {
            return new Mark(AwsRequestCounter.snapshot(), Meter.read(), segment.requests().size(), logs.bytes());
        }

        long identifiesSince(SegmentStandIn segment) {
            List<SegmentStandIn.RecordedRequest> all = segment.requests();
            return all.subList(segmentRequests, all.size()).stream().mapToLong(SegmentStandIn.RecordedRequest::accepted).sum();
        }

        Phase phase(String name, String description, int pages, long members, long changes, List<Invocation> webhook,
                    List<Invocation> reconciler, List<Invocation> sender, SegmentStandIn segment, LogCapture logs,
                    double webhookSeconds, double reconcilerSeconds, double senderSeconds, long failedRecords) {
            Map<String, Long> delta = new TreeMap<>(AwsRequestCounter.snapshot());
            calls.forEach((k, v) -> delta.merge(k, -v, Long::sum));
            delta.values().removeIf(v -> v == 0);
            List<SegmentStandIn.RecordedRequest> all = segment.requests();
            return new Phase(name, description, pages, members, changes, webhook, sender, reconciler, delta,
                    Meter.read().minus(billing), Phase.SegmentStats.of(all.subList(segmentRequests, all.size()), sender),
                    webhookSeconds, senderSeconds, reconcilerSeconds, logs.bytes() - logBytes, failedRecords);
        }
    }

    // ------------------------------------------------------------------ CPU and cold start

    private static JsonNode cpuProbe(Template template, int warmup, int iterations) throws IOException, InterruptedException {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CpuProbe.class.getName(),
                Integer.toString(warmup), Integer.toString(iterations));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("JAVA_TOOL_OPTIONS", template.javaToolOptionsString());
        Process p = pb.start();
        String result = null;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.startsWith("CPU-PROBE ")) {
                    result = line.substring("CPU-PROBE ".length());
                }
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || result == null) {
            throw new IllegalStateException("the CPU probe failed (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
        }
        return JSON.readTree(result);
    }

    private static List<ColdStartResult> coldStarts(Settings s, Template template, List<ColdStart.Package> packages) {
        // A stand-in of its own: every launch sends the same event's identifies, which would count as duplicates.
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            return coldStarts(s, template, packages, segment);
        }
    }

    private static List<ColdStartResult> coldStarts(Settings s, Template template, List<ColdStart.Package> packages,
                                                    SegmentStandIn segment) {
        Path work = s.out().resolve("cold-start");
        String endpoint = System.getProperty("aws.endpointUrl", System.getenv("AWS_ENDPOINT_URL"));
        CfnTemplate cfn = CfnTemplate.load(s.repo().resolve("template.yaml"));
        int requests = s.coldStartRequests();
        // Each function's requests do equal work: the first, then warm ones (FirstRequests).
        Map<String, List<Path>> events = Map.of("WebhookFunction", FirstRequests.webhook(s.repo(), work, requests),
                "ReconcilerFunction", FirstRequests.reconciler(work, requests),
                "SenderFunction", FirstRequests.sender(s.repo(), work, requests));
        Map<String, ColdStart.Package> byId = new HashMap<>();
        packages.forEach(p -> byId.put(p.functionId(), p));
        // Each launch gets a fresh stack and the function's environment from the template, resolved to it.
        Function<String, Supplier<Map<String, String>>> environment = id -> () -> {
            AwsStack stack = AwsStack.create();
            switch (id) {
                case "SenderFunction" -> events.get(id).forEach(e -> commitDeltasOf(stack, e));
                case "ReconcilerFunction" -> seedRenamedCohort(stack, requests);
                default -> {
                    // The webhook's (and the baselines') events need nothing stored.
                }
            }
            Map<String, String> env = new HashMap<>(cfn.resolvedEnvironment(id, stack.templateResources(), "cohort-sync-bench"));
            env.put("AWS_ENDPOINT_URL", endpoint);
            env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
            return env;
        };
        List<String> webhookEvent = List.of(ColdStart.read(events.get("WebhookFunction").getFirst()));
        List<ColdStart.Subject> subjects = new ArrayList<>();
        subjects.add(new ColdStart.Subject(EMPTY, ColdStart.emptyPackage(work), ColdStart.handlerOf(EmptyHandler.class),
                webhookEvent, Duration.ofSeconds(29), environment.apply("WebhookFunction"), template.memoryMb(),
                LambdaRuntimeProcess.Init.ON_DEMAND));
        subjects.add(new ColdStart.Subject(BARE_SDK, ColdStart.bareSdkPackage(work, byId.get("WebhookFunction")),
                ColdStart.handlerOf(BareSdkHandler.class), webhookEvent, Duration.ofSeconds(29),
                environment.apply("WebhookFunction"), template.memoryMb(), LambdaRuntimeProcess.Init.ON_DEMAND));
        for (String id : FUNCTIONS) {
            List<String> bodies = events.get(id).stream().map(ColdStart::read).toList();
            for (LambdaRuntimeProcess.Init init : LambdaRuntimeProcess.Init.values()) {
                subjects.add(new ColdStart.Subject(init == LambdaRuntimeProcess.Init.SNAP_START ? primed(id) : id,
                        byId.get(id).root(), cfn.handler(id), bodies, Duration.ofSeconds(cfn.timeoutSeconds(id)),
                        environment.apply(id), cfn.memorySize(id), init));
            }
        }
        progress("cold start under the Lambda runtime client: " + s.coldStartRuns() + " round(s) of an empty handler, a "
                + "bare-SDK handler and the three functions, each on-demand and under SnapStart's flow (primed), "
                + requests + " requests a function launch" + (s.coldStartRuns() > 1 ? ", after one unmeasured round" : ""));
        Map<String, List<ColdStart.Launch>> launches = ColdStart.measure(subjects, s.coldStartRuns(), work.resolve("logs"));
        List<ColdStartResult> results = new ArrayList<>();
        for (String id : FUNCTIONS) {
            results.add(new ColdStartResult(id, byId.get(id), launches.get(id), launches.get(primed(id)),
                    launches.get(EMPTY), launches.get(BARE_SDK)));
        }
        return results;
    }

    static final String EMPTY = "EmptyHandler";
    static final String BARE_SDK = "BareSdkHandler";

    /** The subject name of a function's launches under SnapStart's flow. */
    static String primed(String functionId) {
        return functionId + "-primed";
    }

    /** The cohort of the reconciler's cold-start jobs: renamed to version 2, members in the first shards under version 1. */
    static final CohortRef COLD_START_COHORT = new CohortRef(PROJECT, "cold-start");
    static final int COLD_START_MEMBERS = 20;

    /**
     * The cohort of the reconciler's cold-start jobs ({@link FirstRequests#reconciler}): renamed to version 2, with
     * {@link #COLD_START_MEMBERS} members under version 1 in each of shards 0 to {@code shards - 1}, so each job does
     * a chunk of real work (cohort read, checkpoint, Query, deltas, conditional writes, report).
     */
    private static void seedRenamedCohort(AwsStack stack, int shards) {
        List<String> members = new ArrayList<>();
        int[] perShard = new int[Shards.COUNT];
        for (int i = 0; members.size() < COLD_START_MEMBERS * shards; i++) {
            String id = "cold" + i + "@example.com";
            int shard = Shards.of(id);
            if (shard < shards && perShard[shard] < COLD_START_MEMBERS) {
                perShard[shard]++;
                members.add(id);
            }
        }
        seedCohort(stack, COLD_START_COHORT, "Cold start (old name)", members);
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72),
                Clock.systemUTC());
        CohortState current = cohorts.load(COLD_START_COHORT).orElseThrow();
        cohorts.rename(COLD_START_COHORT, current, current.renamed("Cold start"));
    }

    /**
     * Commits the changes an SQS event's deltas announce (versions 1 and 2, as in the fixture), so the
     * sender finds them current and sends them.
     */
    static void commitDeltasOf(AwsStack stack, Path sqsEvent) {
        try {
            DynamoMembershipStore store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, Duration.ZERO,
                    Clock.systemUTC());
            for (JsonNode r : JSON.readTree(sqsEvent.toFile()).path("Records")) {
                for (Delta d : DeltaCodec.decode(r.path("body").asText())) {
                    if (d.version() > 2) {
                        throw new IllegalStateException("the cold-start event may only carry versions 1 and 2");
                    }
                    Membership before = Membership.ABSENT;
                    if (d.version() == 2) {
                        before = new Membership(!d.member(), 1);
                        store.commit(d.cohort(), List.of(new Change(d.distinctId(), Membership.ABSENT, before)));
                    }
                    store.commit(d.cohort(), List.of(new Change(d.distinctId(), before, d.membership())));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void progress(String message) {
        System.err.printf("[bench %tT] %s%n", System.currentTimeMillis(), message);
    }
}
