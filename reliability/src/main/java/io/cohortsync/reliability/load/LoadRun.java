package io.cohortsync.reliability.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.local.LocalPipeline;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.reconciler.ReconcilerConfig;
import io.cohortsync.reconciler.ReconcilerFactory;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A burst on the local stack ({@link LocalPipeline}: the real webhook behind the API Gateway stand-in,
 * the real sender behind the SQS event-source stand-in, moto, and the Segment stand-in): the pages of
 * one full sync, all sent at once, each also replayed at the same moment, by a Mixpanel-like client
 * that retries 429/5xx and timeouts (API Gateway gives up on an integration after 30 s) up to 5 times.
 * Then it waits for the pipeline to drain (the delta queue, and the reconcile queue the completed
 * sessions' exit passes go to) and checks that every request was answered 2xx in the end, nothing was
 * lost or sent twice, Segment ends with every user in the cohort, and no exit pass is left pending.
 *
 * <p>The real reconciler runs beside the pipeline on its own queue ({@link ReconcilerDriver}), its
 * {@code RECONCILE_QUEUE_URL} passed to the functions through {@link LocalPipeline.Options#functionEnvironment}.
 */
public final class LoadRun {
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What a run sends: {@code cohorts} full syncs of {@code pagesPerCohort} pages each, all pages at once.
     * The pages are spread over cohorts because moto answers a Query by sorting the whole partition (about
     * 9 s for a 50,000-member cohort, past the SDK's 10 s call timeout with paging), which would time out
     * every exit pass of one huge cohort; DynamoDB reads those pages in milliseconds.
     */
    public record Options(int cohorts, int pagesPerCohort, int usersPerPage, Duration clientTimeout, int maxAttempts,
                          Duration drainTimeout) {
        /** {@code make load}: 50 pages × 1,000 users (10 full syncs of 5 pages), each page sent twice at once. */
        public static final Options FULL = new Options(10, 5, 1_000, Duration.ofSeconds(30), 6, Duration.ofMinutes(15));

        int pages() {
            return cohorts * pagesPerCohort;
        }
    }

    /** What a run measured and found. */
    public record Result(int requests, int attempts, int restarts, int replayedFromDlq, Map<String, Integer> answers,
                         int members, double burstSeconds, int changes,
                         double webhookSeconds, double endToEndSeconds, double p50Millis, double p99Millis,
                         double maxMillis, double handlerP50Millis, double handlerP99Millis, long reconcileJobs,
                         List<String> problems) {
        /** Member entries (originals and replays) per second until every page had been answered 2xx. */
        public double membersPerSecond() {
            return members / webhookSeconds;
        }

        public double changesPerSecond() {
            return changes / endToEndSeconds;
        }

        public void print(PrintStream out) {
            out.printf(Locale.ROOT, "cohort-sync load: %d webhook requests (%d pages x 2, sent at once), %d attempts%n",
                    requests, requests / 2, attempts);
            out.printf(Locale.ROOT, "  answers by status (every attempt)   %s%n", answers);
            out.printf(Locale.ROOT, "  full sync restarted from the top    %d times (pages failing after 5 retries)%n", restarts);
            out.printf(Locale.ROOT, "  DLQ messages replayed               %d (redriven by SQS after maxReceiveCount)%n",
                    replayedFromDlq);
            out.printf(Locale.ROOT, "  first answer to every request after %.1f s%n", burstSeconds);
            out.printf(Locale.ROOT, "  members through the webhook         %,d (originals and replays) answered 2xx after %.1f s = %,.0f members/s%n",
                    members, webhookSeconds, membersPerSecond());
            out.printf(Locale.ROOT, "  changes end to end (to Segment)     %,d in %.1f s = %,.0f changes/s%n", changes,
                    endToEndSeconds, changesPerSecond());
            out.printf(Locale.ROOT, "  webhook latency, client (burst)     p50 %.0f ms, p99 %.0f ms, max %.0f ms (queueing in the"
                    + " front door included; a 30 s answer is API Gateway's timeout)%n", p50Millis, p99Millis, maxMillis);
            out.printf(Locale.ROOT, "  webhook latency, handler            p50 %.0f ms, p99 %.0f ms (durationMs of its log lines)%n",
                    handlerP50Millis, handlerP99Millis);
            out.printf(Locale.ROOT, "  reconcile jobs run                  %,d (the exit passes of the full syncs, one shard each)%n",
                    reconcileJobs);
            out.printf(Locale.ROOT, "  problems                            %s%n", problems.isEmpty() ? "none" : problems);
        }
    }

    private LoadRun() {
    }

    public static Result run(Options options, OutputCapture capture) throws Exception {
        String prefix = "load-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet();
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        AwsClients aws = new AwsClients(Region.US_EAST_1, StaticCredentialsProvider.create(
                AwsBasicCredentials.create("testing", "testing")));
        String[] reconcileQueues;
        try (SqsClient setup = aws.sqs()) {
            reconcileQueues = Infrastructure.createReconcileQueues(setup, prefix + "-reconcile");
        }
        try (SqsClient sqs = aws.sqs();
             DynamoDbClient dynamo = aws.dynamoDb();
             SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
             LocalPipeline pipeline = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0,
                     segment.baseUrl().toString(), AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD,
                     // failed records come back after 10 s (the deployed queue waits 360 s): long enough that a
                     // busy emulator does not exhaust maxReceiveCount within a burst, short enough to finish
                     AwsStack.SEGMENT_WRITE_KEY, prefix, null, Duration.ofSeconds(10), capture.stream(),
                     Map.of("RECONCILE_QUEUE_URL", reconcileQueues[0])));
             ReconcilerDriver reconciler = new ReconcilerDriver(sqs, reconcileQueues[0],
                     reconcilerHandler(pipeline.environment(), dynamo, sqs, capture.stream()))) {
            // full syncs: per cohort, pages of users sharing one session
            Map<String, String> traitOf = new HashMap<>();
            List<String> users = Exports.users(prefix + "-u", 0, options.pages() * options.usersPerPage());
            List<String> bodies = new ArrayList<>();
            for (int c = 0; c < options.cohorts(); c++) {
                for (int p = 0; p < options.pagesPerCohort(); p++) {
                    int from = (c * options.pagesPerCohort() + p) * options.usersPerPage();
                    List<String> page = users.subList(from, from + options.usersPerPage());
                    bodies.add(Exports.members("load-" + c, "Load test " + c, "load-session-" + c, p + 1,
                            options.pagesPerCohort(), page));
                    String trait = "Mixpanel - Load test " + c;
                    page.forEach(u -> traitOf.put(u, trait));
                }
            }
            URI url = URI.create("http://127.0.0.1:" + pipeline.port() + "/mixpanel");
            List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
            List<Long> restartLatencies = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger restarts = new AtomicInteger();
            AtomicInteger redriven = new AtomicInteger();
            Instant[] burstDone = new Instant[1];
            Map<String, Integer> answers = Collections.synchronizedMap(new TreeMap<>());
            AtomicInteger attempts = new AtomicInteger();
            Instant start = Instant.now();
            int requests = 2 * bodies.size();
            // A thread per request: the whole burst is in flight at once, originals and replays together.
            try (ExecutorService clients = Executors.newFixedThreadPool(requests);
                 HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
                List<Future<Integer>> finals = new ArrayList<>();
                for (int copy = 0; copy < 2; copy++) {
                    for (String body : bodies) {
                        finals.add(clients.submit(() -> mixpanelSend(http, url, body, options, latencies, answers,
                                attempts)));
                    }
                }
                boolean allAnswered2xx = true;
                for (Future<Integer> f : finals) {
                    int status = f.get();
                    if (status / 100 == 4) {
                        problems.add("a page of a valid full sync was answered " + status);
                    }
                    allAnswered2xx &= status / 100 == 2;
                }
                burstDone[0] = Instant.now();
                // A sync with a page that still failed after Mixpanel's retries is restarted from the top
                // at the next schedule: every page again, in order.
                for (int restart = 1; !allAnswered2xx && restart <= 3; restart++) {
                    restarts.incrementAndGet();
                    allAnswered2xx = true;
                    for (String body : bodies) {
                        int status = mixpanelSend(http, url, body, options, restartLatencies, answers, attempts);
                        allAnswered2xx &= status / 100 == 2;
                    }
                }
                if (!allAnswered2xx) {
                    problems.add("the full sync still failed after 3 restarts from the top");
                }
            }
            Instant answered = Instant.now();

            // the pipeline drains: everything queued is sent; what SQS redrove to the DLQ meanwhile is
            // replayed, as an operator would (README "replaying the DLQ")
            int expected = users.size();
            Instant deadline = Instant.now().plus(options.drainTimeout());
            int quiet = 0;
            while (quiet < 2 || segment.acceptedIdentifies().size() < expected) {
                if (Instant.now().isAfter(deadline)) {
                    problems.add("the pipeline did not drain within " + options.drainTimeout().toSeconds() + " s"
                            + " (delta pipeline idle: " + pipeline.idle() + ", reconcile queue " + reconciler.describe()
                            + ", identifies accepted " + segment.acceptedIdentifies().size() + " of " + expected + ")");
                    break;
                }
                quiet = pipeline.idle() && reconciler.idle() ? quiet + 1 : 0;
                if (quiet >= 2 && segment.acceptedIdentifies().size() < expected) {
                    int replayed = replayDeadLetters(sqs, pipeline);
                    if (replayed == 0) {
                        break; // idle, nothing to replay, users missing: checked below
                    }
                    redriven.addAndGet(replayed);
                    quiet = 0;
                }
                Thread.sleep(250); // poll interval, not a guess at how long anything takes
            }
            List<JsonNode> accepted = segment.acceptedIdentifies();
            Instant drained = accepted.isEmpty() ? Instant.now()
                    : segment.requests().stream().filter(r -> r.status() == 200).map(SegmentStandIn.RecordedRequest::receivedAt)
                    .max(Instant::compareTo).orElse(Instant.now());

            check(users, traitOf, accepted, segment, pipeline, problems);
            if (reconciler.errors() > 0) {
                capture.console().printf("  (the reconciler's event source saw %d failed emulator calls)%n",
                        reconciler.errors());
            }
            if (reconciler.deadLetters(reconcileQueues[1]) > 0) {
                problems.add(reconciler.deadLetters(reconcileQueues[1]) + " jobs in the reconcile DLQ");
            }
            DynamoCohortStore cohortItems = new DynamoCohortStore(dynamo, pipeline.environment().get("TABLE_NAME"),
                    Duration.ofHours(72), Clock.systemUTC());
            for (int c = 0; c < options.cohorts(); c++) {
                CohortState state = cohortItems.load(new CohortRef(Exports.PROJECT, "load-" + c)).orElse(null);
                if (state == null || state.epoch() < 1 || state.reconciling()) {
                    problems.add("cohort load-" + c + "'s full sync did not complete its exit pass");
                }
            }
            String output = capture.text();
            new LeakScanner().scan(output).forEach(l -> problems.add("leak in the functions' output: " + l));

            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            List<Long> handler = new ArrayList<>();
            for (String line : output.split("\n")) {
                if (line.contains("\"webhook handled\"")) {
                    try {
                        handler.add(Math.round(JSON.readTree(line).path("durationMs").asDouble()));
                    } catch (IOException notJson) {
                        // not one of the webhook's lines
                    }
                }
            }
            Collections.sort(handler);
            keep(output);
            return new Result(requests, attempts.get(), restarts.get(), redriven.get(), Map.copyOf(answers),
                    requests * options.usersPerPage(), seconds(start, burstDone[0]),
                    accepted.size(), seconds(start, answered), seconds(start, drained), percentile(sorted, 50),
                    percentile(sorted, 99), sorted.isEmpty() ? 0 : sorted.getLast(), percentile(handler, 50),
                    percentile(handler, 99), reconciler.invocations(), List.copyOf(problems));
        }
    }

    /** One request as Mixpanel sends it: retried on 429, 5xx and timeouts, up to {@code maxAttempts} in all. */
    private static int mixpanelSend(HttpClient http, URI url, String body, Options options, List<Long> latencies,
                                    Map<String, Integer> answers, AtomicInteger attempts) throws InterruptedException {
        int status = 0;
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            attempts.incrementAndGet();
            long started = System.nanoTime();
            HttpRequest request = HttpRequest.newBuilder(url).timeout(options.clientTimeout())
                    .header("content-type", "application/json")
                    .header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (HttpTimeoutException e) {
                status = 504; // what API Gateway answers when the integration takes longer than 30 s
            } catch (IOException e) {
                status = 502;
            }
            latencies.add((System.nanoTime() - started) / 1_000_000);
            answers.merge(Integer.toString(status), 1, Integer::sum);
            if (status / 100 == 2 || status / 100 == 4 && status != 429) {
                return status;
            }
            Thread.sleep(Math.min(8_000, 500L << (attempt - 1))); // Mixpanel backs off between retries
        }
        return status;
    }

    private static void check(List<String> users, Map<String, String> traitOf, List<JsonNode> accepted,
                              SegmentStandIn segment,
                              LocalPipeline pipeline, List<String> problems) {
        Map<String, Integer> perUser = new HashMap<>();
        Set<String> ids = new HashSet<>();
        for (JsonNode m : accepted) {
            perUser.merge(m.path("userId").asText(), 1, Integer::sum);
            if (!ids.add(m.path("messageId").asText())) {
                problems.add("a messageId accepted twice");
            }
        }
        long lost = users.stream().filter(u -> !perUser.containsKey(u)).count();
        long twice = perUser.values().stream().filter(n -> n > 1).count();
        Map<String, Map<String, JsonNode>> traits = segment.finalTraits();
        long wrong = users.stream().filter(u -> {
            JsonNode v = traits.getOrDefault(u, Map.of()).get(traitOf.get(u));
            return v == null || !v.asBoolean();
        }).count();
        if (lost > 0) {
            problems.add(lost + " users never reached Segment (lost)");
        }
        if (twice > 0) {
            problems.add(twice + " users entered twice under different messageIds");
        }
        if (wrong > 0) {
            problems.add(wrong + " users do not end as members in Segment");
        }
        if (accepted.size() != users.size()) {
            problems.add(accepted.size() + " identifies accepted for " + users.size() + " users");
        }
        if (pipeline.deadLetters() > 0) {
            problems.add(pipeline.deadLetters() + " messages in the DLQ");
        }
        if (segment.droppedInvalid() + segment.droppedOverLimit() > 0) {
            problems.add("Segment dropped messages over its limits or without a user");
        }
    }

    /**
     * The real reconciler, wired as its factory wires it from the functions' environment, except that a job
     * arriving before its commit looks again after 2 s rather than 30 s: moto commits far slower than
     * DynamoDB, so count jobs often overtake the page that completes their session (as LocalPipeline looks
     * again sooner at deltas ahead of the table).
     */
    private static ReconcilerHandler reconcilerHandler(Map<String, String> env, DynamoDbClient dynamo, SqsClient sqs,
                                                       PrintStream out) {
        ReconcilerConfig c = ReconcilerConfig.fromEnvironment(env);
        ReconcileConfig r = c.reconcile();
        ReconcilerConfig config = new ReconcilerConfig(c.tableName(), c.deltaQueueUrl(), c.reconcileQueueUrl(),
                new ReconcileConfig(r.massExitPolicy(), r.passIds(), r.chunk(), r.maxChunksPerRun(), Duration.ofSeconds(2),
                        r.neverCommittedAfter()), c.commitConcurrency(), c.deltaDelay(), c.exitedTtl(), c.historyTtl(),
                c.deadlineMargin());
        Clock clock = Clock.systemUTC();
        Duration sessionTtl = Duration.ofHours(72);
        SqsDeltaQueue deltas = new SqsDeltaQueue(sqs, config.deltaQueueUrl());
        return ReconcilerHandler.of(ReconcilerFactory.create(config,
                new DynamoMembershipStore(dynamo, config.tableName(), config.commitConcurrency(), config.exitedTtl(), clock),
                new DynamoSessionStore(dynamo, config.tableName(), sessionTtl, clock),
                new DynamoCohortStore(dynamo, config.tableName(), sessionTtl, clock),
                new DynamoReconcileStore(dynamo, config.tableName(), Duration.ofDays(30), clock),
                new SqsReconcileQueue(sqs, config.reconcileQueueUrl()),
                batch -> deltas.enqueueDelayed(batch, config.deltaDelay()), SyncHistory.DISABLED, out, clock));
    }

    /**
     * The reconcile queue's event source: the real reconciler handler, one job per invocation on each of
     * {@link #POLLERS} pollers (Lambda scales an SQS event source out), failed jobs visible again at once,
     * each poller waiting 250 ms after an empty receive (as Lambda's poller does).
     */
    static final class ReconcilerDriver implements AutoCloseable {
        static final int POLLERS = 4;
        private final SqsClient sqs;
        private final String queueUrl;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicInteger busy = new AtomicInteger();
        private final AtomicLong invocations = new AtomicLong();
        /** Emulator calls of the driver itself that failed (receive, delete). */
        private final AtomicLong errors = new AtomicLong();
        private final List<Thread> threads = new ArrayList<>();

        ReconcilerDriver(SqsClient sqs, String queueUrl, ReconcilerHandler handler) {
            this.sqs = sqs;
            this.queueUrl = queueUrl;
            for (int i = 0; i < POLLERS; i++) {
                threads.add(Thread.ofPlatform().daemon().name("load-reconciler-" + i).start(() -> poll(handler)));
            }
        }

        private void poll(ReconcilerHandler handler) {
            while (running.get()) {
                boolean handled = false;
                busy.incrementAndGet();
                List<Message> jobs = List.of();
                try {
                    jobs = SqsEvents.receive(sqs, queueUrl, 1);
                    if (!jobs.isEmpty()) {
                        invocations.incrementAndGet();
                        SqsEvents.settle(sqs, queueUrl, jobs, handler.handleRequest(SqsEvents.event(queueUrl, jobs),
                                LambdaContexts.withRemaining("cohort-sync-reconciler",
                                        Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS))));
                        handled = true;
                    }
                } catch (RuntimeException e) {
                    // The emulator refused a call: hand the job back at once (not after the 720 s visibility
                    // timeout), as the event source does for a failed invocation; the next poll takes it again.
                    errors.incrementAndGet();
                    for (var m : jobs) {
                        try {
                            sqs.changeMessageVisibility(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle())
                                    .visibilityTimeout(0));
                        } catch (RuntimeException again) {
                            // It reappears after its visibility timeout.
                        }
                    }
                } finally {
                    busy.decrementAndGet();
                }
                if (!handled) {
                    pause();
                }
            }
        }

        /** Messages visible, in flight and delayed, and pollers busy: for a problem report. */
        String describe() {
            Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
            return "visible " + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES) + ", in flight "
                    + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE) + ", delayed "
                    + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED) + ", pollers busy " + busy.get()
                    + ", failed emulator calls " + errors.get();
        }

        private boolean queueEmpty() {
            Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
            return a.values().stream().allMatch("0"::equals);
        }

        /** No job visible, in flight or delayed, and none being handled. */
        boolean idle() {
            return busy.get() == 0 && queueEmpty() && busy.get() == 0;
        }

        long invocations() {
            return invocations.get();
        }

        long errors() {
            return errors.get();
        }

        int deadLetters(String dlqUrl) {
            return Integer.parseInt(sqs.getQueueAttributes(b -> b.queueUrl(dlqUrl)
                    .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)).attributes()
                    .get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES));
        }

        private void pause() {
            try {
                Thread.sleep(250); // poll interval while the queue is empty, not a guess at how long anything takes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running.set(false);
            }
        }

        @Override
        public void close() {
            running.set(false);
            try {
                for (Thread t : threads) {
                    t.join(Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Moves every message of the DLQ back onto the delta queue; returns how many. */
    private static int replayDeadLetters(SqsClient sqs, LocalPipeline pipeline) {
        String dlq = pipeline.environment().get("DLQ_URL");
        String queue = pipeline.environment().get("DELTA_QUEUE_URL");
        int n = 0;
        for (var m : QueueReader.drainMessages(sqs, dlq)) {
            sqs.sendMessage(b -> b.queueUrl(queue).messageBody(m.body()));
            n++;
        }
        return n;
    }

    /** The functions' output of the last run, for a look at what they logged (it is scanned, not shown). */
    private static void keep(String output) {
        try {
            Path dir = Path.of("target");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("load-output.log"), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double seconds(Instant from, Instant to) {
        return Math.max(0.001, Duration.between(from, to).toMillis() / 1000.0);
    }

    private static double percentile(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
