package io.cohortsync.bench;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.OperatingSystemMXBean;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.sender.SenderConfig;
import io.cohortsync.sender.SenderFactory;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.InMemoryState;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * CPU time of our own code per 1,000-member page, without I/O: the real webhook and sender handlers
 * on testkit's {@link InMemoryState} (every port in memory, with the adapters' semantics; its delta
 * queue set to encode and drop, its Segment to accept and count), warmed up,
 * timed with the calling thread's CPU clock (everything runs on it: parsing, auth, diff, delta
 * encoding, logs and metrics, Segment message building and packing).
 * Run in a JVM of its own with the functions' JVM options from template.yaml (C1 only, as deployed),
 * so the other phases' JIT and GC do not leak in. Prints one line {@code CPU-PROBE {...}}.
 * <p>Arguments: warm-up iterations, measured iterations.
 */
public final class CpuProbe {
    static final int PAGE = 1000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final ObjectMapper JSON = new ObjectMapper();

    private CpuProbe() {
    }

    public static void main(String[] args) {
        int warmup = Integer.parseInt(args[0]);
        int iterations = Integer.parseInt(args[1]);
        PrintStream report = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream())); // logs are formatted, then dropped
        ObjectNode result = JSON.createObjectNode();
        result.put("threadCpuSupported", THREADS.isCurrentThreadCpuTimeSupported());
        result.put("jvmOptions", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        List<String> users = Exports.users("cpu", 0, PAGE);

        // A page of 1,000 users who all enter (a fresh cohort each time): diff, encode, commit.
        WebhookHandler webhook = webhook(new InMemoryState());
        result.set("webhookChangePage", stats(measure(webhook, warmup, iterations,
                i -> ApiGatewayEvents.post(Exports.add("cpu-" + i, "CPU cohort", users)))));
        // The same page again: every user already there, so reads and diff only.
        APIGatewayV2HTTPEvent noop = ApiGatewayEvents.post(Exports.add("cpu-noop", "CPU cohort", users));
        webhook.handleRequest(noop, LambdaContexts.withRemaining("cpu", Duration.ofSeconds(29)));
        result.set("webhookNoopPage", stats(measure(webhook, warmup, iterations, i -> noop)));
        // Page 1 of a 100-page full sync of users already in: reads, diff, and the page's receipt.
        WebhookHandler full = webhook(new InMemoryState());
        full.handleRequest(ApiGatewayEvents.post(Exports.add("cpu-full", "CPU cohort", users)),
                LambdaContexts.withRemaining("cpu", Duration.ofSeconds(29)));
        result.set("webhookFullSyncPage", stats(measure(full, warmup, iterations,
                i -> ApiGatewayEvents.post(Exports.members("cpu-full", "CPU cohort", "s-" + i, 1, 100, users)))));
        // The sender: one queue message of 1,000 current deltas -> one Segment request.
        InMemoryState senderState = new InMemoryState();
        result.set("sender1000Deltas", stats(measureSender(senderState.members, senderState.cohorts, users, warmup,
                iterations)));

        // The same pages through the real adapters and the real AWS SDK on an HTTP client answering from
        // memory: all the CPU a function spends but socket I/O and TLS. Commits run on a pool, so this
        // is the process's CPU time (nothing else runs in this JVM).
        int sdkWarmup = Math.max(2, warmup / 3);
        int sdkIterations = Math.max(2, iterations / 3);
        String credentials = "{\"username\":\"" + AwsStack.WEBHOOK_USERNAME + "\",\"password\":\"" + AwsStack.WEBHOOK_PASSWORD + "\"}";
        result.set("webhookChangePageWithSdk", stats(measure(sdkWebhook(new CannedAws(false, credentials)), sdkWarmup,
                sdkIterations, i -> ApiGatewayEvents.post(Exports.add("cpu-" + i, "CPU cohort", users)), true)));
        result.set("webhookFullSyncPageWithSdk", stats(measure(sdkWebhook(new CannedAws(true, credentials)), sdkWarmup,
                sdkIterations, i -> ApiGatewayEvents.post(Exports.members("cpu-full", "CPU cohort", "s-" + i, 1, 100, users)),
                true)));
        CannedAws senderAws = new CannedAws(true, "{\"writeKey\":\"" + AwsStack.SEGMENT_WRITE_KEY + "\"}");
        Clock clock = Clock.systemUTC();
        result.set("sender1000DeltasWithSdk", stats(measureSender(
                new DynamoMembershipStore(senderAws.dynamoDb(), "cpu", 1, Duration.ZERO, clock),
                new DynamoCohortStore(senderAws.dynamoDb(), "cpu", Duration.ZERO, clock), users, sdkWarmup, sdkIterations)));
        report.println("CPU-PROBE " + result);
        report.flush();
    }

    /** The webhook on every port of {@code state} but the delta queue, which encodes and drops. */
    private static WebhookHandler webhook(InMemoryState state) {
        WebhookConfig config = WebhookConfig.fromEnvironment(Map.of("TABLE_NAME", "cpu", "DELTA_QUEUE_URL", "cpu",
                "RECONCILE_QUEUE_URL", "cpu", "WEBHOOK_SECRET_ID", "cpu"));
        SecretSource secret = id -> "{\"username\":\"" + AwsStack.WEBHOOK_USERNAME + "\",\"password\":\""
                + AwsStack.WEBHOOK_PASSWORD + "\"}";
        return WebhookHandler.of(WebhookFactory.create(config, new WebhookPorts(state.members, state.deltas.discarding(),
                state.sessions, state.cohorts, state.jobs, state.progress, SyncHistory.DISABLED, secret),
                Clock.systemUTC()));
    }

    /** As WebhookFactory wires it, on SDK clients whose HTTP client answers from memory. */
    private static WebhookHandler sdkWebhook(CannedAws aws) {
        Map<String, String> env = Map.of("TABLE_NAME", "cpu", "DELTA_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/cpu", "RECONCILE_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/cpu-reconcile", "WEBHOOK_SECRET_ID", "cpu");
        WebhookConfig config = WebhookConfig.fromEnvironment(env);
        Clock clock = Clock.systemUTC();
        DynamoDbClient dynamo = aws.dynamoDb();
        SqsDeltaQueue sqs = new SqsDeltaQueue(aws.sqs(), config.deltaQueueUrl());
        DeltaQueue queue = deltas -> sqs.enqueueDelayed(deltas, config.deltaDelay());
        return WebhookHandler.of(WebhookFactory.create(config, new WebhookPorts(
                new DynamoMembershipStore(dynamo, config.tableName(), config.commitConcurrency(), config.exitedTtl(), clock),
                queue, new DynamoSessionStore(dynamo, config.tableName(), config.sessionTtl(), clock),
                new DynamoCohortStore(dynamo, config.tableName(), config.sessionTtl(), clock),
                new SqsReconcileQueue(aws.sqs(), config.reconcileQueueUrl()),
                new DynamoReconcileStore(dynamo, config.tableName(), config.historyTtl(), clock),
                SyncHistory.DISABLED, new SecretsManagerSource(aws.secretsManager())), clock));
    }

    private static double[] measure(WebhookHandler handler, int warmup, int iterations,
                                    IntFunction<APIGatewayV2HTTPEvent> event) {
        return measure(handler, warmup, iterations, event, false);
    }

    private static double[] measure(WebhookHandler handler, int warmup, int iterations,
                                    IntFunction<APIGatewayV2HTTPEvent> event, boolean processCpu) {
        double[] samples = new double[iterations];
        for (int i = 0; i < warmup + iterations; i++) {
            APIGatewayV2HTTPEvent e = event.apply(i);
            var context = LambdaContexts.withRemaining("cpu", Duration.ofSeconds(29));
            long start = cpuNanos(processCpu);
            int status = handler.handleRequest(e, context).getStatusCode();
            long cpu = cpuNanos(processCpu) - start;
            if (status != 200) {
                throw new IllegalStateException("webhook answered " + status);
            }
            if (i >= warmup) {
                samples[i - warmup] = cpu / 1e6;
            }
        }
        return samples;
    }

    private static long cpuNanos(boolean process) {
        return process ? OS.getProcessCpuTime() : THREADS.getCurrentThreadCpuTime();
    }

    /** @param store in memory (committed here) or on the SDK (answers every key as a current member) */
    private static double[] measureSender(MembershipStore store, CohortStore cohorts, List<String> users, int warmup,
                                          int iterations) {
        CohortRef cohort = new CohortRef(Exports.PROJECT, "cpu-sender");
        Instant observedAt = Instant.now();
        List<Delta> deltas = new ArrayList<>();
        List<Change> changes = new ArrayList<>();
        for (String u : users) {
            deltas.add(new Delta(cohort, "CPU cohort", u, true, 1, observedAt));
            changes.add(new Change(u, Membership.ABSENT, new Membership(true, 1)));
        }
        store.commit(cohort, changes);
        List<String> bodies = DeltaCodec.encode(deltas, DeltaQueue.MAX_MESSAGE_BYTES);
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < bodies.size(); i++) {
            messages.add(Message.builder().messageId("m" + i).receiptHandle("r" + i).body(bodies.get(i))
                    .md5OfBody("0").attributesWithStrings(Map.of(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT.toString(), "1"))
                    .build());
        }
        SQSEvent event = SqsEvents.event("https://sqs.us-east-1.amazonaws.com/123456789012/cpu", messages);
        SenderConfig config = SenderConfig.fromEnvironment(Map.of("TABLE_NAME", "cpu", "DELTA_QUEUE_URL", "cpu",
                "DLQ_URL", "cpu", "SEGMENT_SECRET_ID", "cpu", "SEGMENT_ENDPOINT", "http://127.0.0.1:9"));
        // Queue that encodes and drops, Segment that accepts and counts: testkit's ports, memory flat.
        InMemoryState ports = new InMemoryState();
        SenderHandler sender = SenderHandler.of(SenderFactory.create(config, store, cohorts, ports.deltas.discarding(),
                ports.deadLetters, id -> "{\"writeKey\":\"" + AwsStack.SEGMENT_WRITE_KEY + "\"}", ports.segment.counting(),
                SyncHistory.DISABLED, new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC()));
        double[] samples = new double[iterations];
        for (int i = 0; i < warmup + iterations; i++) {
            var context = LambdaContexts.withRemaining("cpu", Duration.ofSeconds(60));
            long start = THREADS.getCurrentThreadCpuTime();
            SQSBatchResponse response = sender.handleRequest(event, context);
            long cpu = THREADS.getCurrentThreadCpuTime() - start;
            if (!response.getBatchItemFailures().isEmpty()) {
                throw new IllegalStateException("sender reported failures");
            }
            if (i >= warmup) {
                samples[i - warmup] = cpu / 1e6;
            }
        }
        return samples;
    }

    private static ObjectNode stats(double[] samples) {
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        ObjectNode n = JSON.createObjectNode();
        n.put("iterations", sorted.length);
        n.put("meanMs", Arrays.stream(sorted).average().orElse(0));
        n.put("p50Ms", Stats.percentile(sorted, 50));
        n.put("p90Ms", Stats.percentile(sorted, 90));
        n.put("minMs", sorted.length == 0 ? 0 : sorted[0]);
        return n;
    }
}
