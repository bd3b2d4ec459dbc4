package io.cohortsync.bench;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.sun.management.OperatingSystemMXBean;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.reconciler.ReconcilerConfig;
import io.cohortsync.reconciler.ReconcilerFactory;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.sender.SenderConfig;
import io.cohortsync.sender.SenderFactory;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;

/**
 * The three real handlers on one stack in the emulator, wired like their factories wire them (the
 * same adapters, the same configuration read from the same variables) but on {@link EmulatorClients}:
 * the webhook behind a direct invocation with an API Gateway event, the reconciler and the sender each
 * behind an {@link EventSourceMapping} on its queue. Every invocation is measured on its own. Sync
 * history is off in all three (the bench measured it that way before; with history on, each changing
 * call adds one PutItem and each sender batch an UpdateItem).
 */
final class Pipeline {
    /**
     * Reconcile jobs per invocation: one, so the 16 shard jobs of a pass run in 16 functions at once and
     * each job has the whole invocation to itself (an assumption until the template's reconciler mapping
     * says otherwise; it changes Lambda request counts only).
     */
    static final int RECONCILE_BATCH_SIZE = 1;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    final AwsStack stack;
    final Map<String, String> environment;
    final WebhookConfig webhookConfig;
    private final SegmentStandIn segment;
    private final LogCapture logs;
    private final WebhookHandler webhook;
    private final SenderHandler sender;
    private final ReconcilerHandler reconciler;
    private final EventSourceMapping mapping;
    private final EventSourceMapping reconcileMapping;

    Pipeline(AwsStack stack, EmulatorClients clients, SegmentStandIn segment, LogCapture logs,
             Map<String, String> overrides, Duration batchingWindow) {
        this.stack = stack;
        this.segment = segment;
        this.logs = logs;
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
        env.putAll(overrides);
        this.environment = Map.copyOf(env);
        Clock clock = Clock.systemUTC();

        // As WebhookFactory.fromEnvironment wires it (history off, see above).
        this.webhookConfig = WebhookConfig.fromEnvironment(environment);
        WebhookConfig wc = webhookConfig;
        DynamoDbClient webhookDynamo = clients.dynamoDb();
        SqsClient webhookSqs = clients.sqs();
        SqsDeltaQueue deltaQueue = new SqsDeltaQueue(webhookSqs, wc.deltaQueueUrl());
        DeltaQueue queue = deltas -> deltaQueue.enqueueDelayed(deltas, wc.deltaDelay());
        Duration keep = wc.historyTtl().isZero() ? Duration.ofDays(30) : wc.historyTtl();
        this.webhook = WebhookHandler.of(WebhookFactory.create(wc, new WebhookPorts(
                new DynamoMembershipStore(webhookDynamo, wc.tableName(), wc.commitConcurrency(), wc.exitedTtl(), clock),
                queue,
                new DynamoSessionStore(webhookDynamo, wc.tableName(), wc.sessionTtl(), clock),
                new DynamoCohortStore(webhookDynamo, wc.tableName(), wc.sessionTtl(), clock),
                new SqsReconcileQueue(webhookSqs, wc.reconcileQueueUrl()),
                new DynamoReconcileStore(webhookDynamo, wc.tableName(), keep, clock),
                SyncHistory.DISABLED, new SecretsManagerSource(clients.secretsManager())), clock));

        // As ReconcilerFactory.fromEnvironment wires it (history off).
        ReconcilerConfig rc = ReconcilerConfig.fromEnvironment(environment);
        DynamoDbClient reconcilerDynamo = clients.dynamoDb();
        SqsClient reconcilerSqs = clients.sqs();
        SqsDeltaQueue reconcilerDeltas = new SqsDeltaQueue(reconcilerSqs, rc.deltaQueueUrl());
        Duration sessionTtl = Duration.ofHours(Long.parseLong(environment.getOrDefault("SESSION_TTL_HOURS", "72")));
        Duration reconcileKeep = rc.historyTtl().isZero() ? Duration.ofDays(30) : rc.historyTtl();
        this.reconciler = ReconcilerHandler.of(ReconcilerFactory.create(rc,
                new DynamoMembershipStore(reconcilerDynamo, rc.tableName(), rc.commitConcurrency(), rc.exitedTtl(), clock),
                new DynamoSessionStore(reconcilerDynamo, rc.tableName(), sessionTtl, clock),
                new DynamoCohortStore(reconcilerDynamo, rc.tableName(), sessionTtl, clock),
                new DynamoReconcileStore(reconcilerDynamo, rc.tableName(), reconcileKeep, clock),
                new SqsReconcileQueue(reconcilerSqs, rc.reconcileQueueUrl()),
                batch -> reconcilerDeltas.enqueueDelayed(batch, rc.deltaDelay()),
                SyncHistory.DISABLED, logs.stream(), clock));

        // As SenderFactory.create wires it.
        SenderConfig sc = SenderConfig.fromEnvironment(environment);
        SqsClient senderSqs = clients.sqs();
        DynamoDbClient senderDynamo = clients.dynamoDb();
        this.sender = SenderHandler.of(SenderFactory.create(sc,
                new DynamoMembershipStore(senderDynamo, sc.tableName(), 1, Duration.ZERO, clock),
                new DynamoCohortStore(senderDynamo, sc.tableName(), Duration.ZERO, clock),
                new SqsDeltaQueue(senderSqs, sc.deltaQueueUrl()), new SqsDeadLetterQueue(senderSqs, sc.dlqUrl()),
                new SecretsManagerSource(clients.secretsManager()), new SegmentClient(sc.segmentBaseUrl(), clock),
                SyncHistory.DISABLED, logs.stream(), clock));

        this.mapping = new EventSourceMapping(clients.sqs(), stack.queueUrl, EventSourceMapping.BATCH_SIZE,
                batchingWindow);
        this.reconcileMapping = new EventSourceMapping(clients.sqs(), stack.reconcileQueueUrl, RECONCILE_BATCH_SIZE,
                Duration.ZERO);
    }

    /** The webhook, as API Gateway invokes it, with one Mixpanel request body. */
    Invocation post(String body) {
        APIGatewayV2HTTPEvent event = ApiGatewayEvents.post(body);
        var context = LambdaContexts.withRemaining("cohort-sync-webhook", Duration.ofSeconds(29));
        long requestBytes = body.getBytes(StandardCharsets.UTF_8).length;
        int segmentBefore = segment.requests().size();
        Snapshot before = Snapshot.take(logs, true);
        APIGatewayV2HTTPResponse response = webhook.handleRequest(event, context);
        Snapshot after = Snapshot.take(logs, true);
        if (response.getStatusCode() != 200) {
            throw new IllegalStateException("webhook answered " + response.getStatusCode() + ": " + response.getBody());
        }
        return after.since(before, "webhook", countMembers(body), requestBytes,
                segment.requests().size() - segmentBefore, response.getStatusCode());
    }

    /**
     * Runs the reconcile queue's event source mapping and the reconciler until the queue stays empty
     * for a second (every job, its continuations and the jobs it queues for the next phase done), or
     * fails after {@code timeout}. Callers check the outcome the jobs had to reach.
     */
    List<Invocation> reconcile(Duration timeout) {
        List<Invocation> invocations = new ArrayList<>();
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("the reconciler did not finish within " + timeout);
            }
            List<Message> batch = reconcileMapping.gather(Duration.ofSeconds(1));
            if (batch.isEmpty()) {
                return invocations;
            }
            var event = SqsEvents.event(stack.reconcileQueueUrl, batch);
            int segmentBefore = segment.requests().size();
            // The reconciler commits on a pool of threads, so its CPU is the process's (nothing else runs meanwhile).
            Snapshot before = Snapshot.take(logs, true);
            SQSBatchResponse response = reconciler.handleRequest(event, LambdaContexts.withRemaining(
                    "cohort-sync-reconciler", Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS)));
            Snapshot after = Snapshot.take(logs, true);
            int failures = response.getBatchItemFailures() == null ? 0 : response.getBatchItemFailures().size();
            invocations.add(after.since(before, "reconciler", batch.size(),
                    batch.stream().mapToLong(m -> m.body().getBytes(StandardCharsets.UTF_8).length).sum(),
                    segment.requests().size() - segmentBefore, failures));
            reconcileMapping.settle(batch, response);
        }
    }

    /**
     * Runs the delta queue's event source mapping and the sender until {@code remaining} reports
     * nothing left (checked when a poll comes back empty), or fails after {@code timeout}.
     */
    List<Invocation> drain(IntSupplier remaining, Duration timeout) {
        List<Invocation> invocations = new ArrayList<>();
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("the sender did not finish within " + timeout + "; "
                        + remaining.getAsInt() + " identifies missing");
            }
            List<Message> batch = mapping.gather(Duration.ofSeconds(1));
            if (batch.isEmpty()) {
                if (remaining.getAsInt() <= 0) {
                    return invocations;
                }
                continue;
            }
            var event = SqsEvents.event(stack.queueUrl, batch);
            int deltas = batch.stream().mapToInt(m -> DeltaCodec.decode(m.body()).size()).sum();
            int segmentBefore = segment.requests().size();
            Snapshot before = Snapshot.take(logs, false);
            SQSBatchResponse response = sender.handleRequest(event,
                    LambdaContexts.withRemaining("cohort-sync-sender", Duration.ofSeconds(60)));
            Snapshot after = Snapshot.take(logs, false);
            int failures = response.getBatchItemFailures() == null ? 0 : response.getBatchItemFailures().size();
            invocations.add(after.since(before, "sender", deltas,
                    batch.stream().mapToLong(m -> m.body().getBytes(StandardCharsets.UTF_8).length).sum(),
                    segment.requests().size() - segmentBefore, failures));
            mapping.settle(batch, response);
        }
    }

    /** Records of either queue a handler reported failed (SQS brought them back). */
    long failedRecords() {
        return mapping.failedRecords() + reconcileMapping.failedRecords();
    }

    private static int countMembers(String body) {
        int n = 0;
        for (int i = body.indexOf("\"mixpanel_distinct_id\""); i >= 0; i = body.indexOf("\"mixpanel_distinct_id\"", i + 1)) {
            n++;
        }
        return n;
    }

    /** Counters at one instant; the difference of two is one invocation. */
    private record Snapshot(long nanos, long cpuNanos, Map<String, Long> calls, Meter.Reading billing, long logBytes) {
        static Snapshot take(LogCapture logs, boolean processCpu) {
            // The webhook and the reconciler commit on a pool of threads, so their CPU is the process's
            // (nothing else runs meanwhile); the sender works on the calling thread, while the Segment
            // stand-in in this JVM parses what it receives on others, so only the calling thread counts for it.
            long cpu = processCpu ? OS.getProcessCpuTime() : THREADS.getCurrentThreadCpuTime();
            return new Snapshot(System.nanoTime(), cpu, AwsRequestCounter.snapshot(), Meter.read(), logs.bytes());
        }

        Invocation since(Snapshot before, String function, int units, long requestBytes, int segmentRequests,
                         int status) {
            Map<String, Long> delta = new TreeMap<>(calls);
            before.calls.forEach((k, v) -> delta.merge(k, -v, Long::sum));
            delta.values().removeIf(v -> v == 0);
            return new Invocation(function, (nanos - before.nanos) / 1e6, (cpuNanos - before.cpuNanos) / 1e6, delta,
                    billing.minus(before.billing), units, requestBytes, logBytes - before.logBytes, segmentRequests,
                    status);
        }
    }
}
