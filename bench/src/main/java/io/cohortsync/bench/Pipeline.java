package io.cohortsync.bench;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.sender.SenderConfig;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookHandler;
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
 * The two real handlers on one stack in the emulator, wired like their factories wire them (the same
 * adapters, the same configuration read from the same variables) but on {@link EmulatorClients}:
 * the webhook behind a direct invocation with an API Gateway event, the sender behind the
 * {@link EventSourceMapping}. Every invocation is measured on its own.
 */
final class Pipeline {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    final AwsStack stack;
    final Map<String, String> environment;
    final WebhookConfig webhookConfig;
    private final SegmentStandIn segment;
    private final LogCapture logs;
    private final WebhookHandler webhook;
    private final SenderHandler sender;
    private final EventSourceMapping mapping;
    private final SqsClient esmSqs;

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

        // As WebhookFactory.fromEnvironment wires it.
        this.webhookConfig = WebhookConfig.fromEnvironment(environment);
        WebhookConfig wc = webhookConfig;
        DynamoDbClient webhookDynamo = clients.dynamoDb();
        SqsDeltaQueue deltaQueue = new SqsDeltaQueue(clients.sqs(), wc.deltaQueueUrl());
        DeltaQueue queue = deltas -> deltaQueue.enqueueDelayed(deltas, wc.deltaDelay());
        this.webhook = WebhookHandler.withPorts(wc,
                new DynamoMembershipStore(webhookDynamo, wc.tableName(), wc.commitConcurrency()), queue,
                new DynamoSessionStore(webhookDynamo, wc.tableName(), wc.sessionTtl(), clock),
                new SecretsManagerSource(clients.secretsManager()), clock);

        // As SenderFactory.create wires it.
        SenderConfig sc = SenderConfig.fromEnvironment(environment);
        SqsClient senderSqs = clients.sqs();
        this.sender = SenderHandler.withPorts(sc, new DynamoMembershipStore(clients.dynamoDb(), sc.tableName(), 1),
                new SqsDeltaQueue(senderSqs, sc.deltaQueueUrl()), new SqsDeadLetterQueue(senderSqs, sc.dlqUrl()),
                new SecretsManagerSource(clients.secretsManager()), new SegmentClient(sc.segmentBaseUrl(), clock),
                logs.stream(), clock);

        this.esmSqs = clients.sqs();
        this.mapping = new EventSourceMapping(esmSqs, stack.queueUrl, batchingWindow);
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
     * Runs the event source mapping and the sender until {@code done} reports true (checked when a poll
     * comes back empty), or fails after {@code timeout}.
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
            int deltas = batch.stream().mapToInt(m -> io.cohortsync.domain.DeltaCodec.decode(m.body()).size()).sum();
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

    long failedRecords() {
        return mapping.failedRecords();
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
            // The webhook commits on a pool of threads, so its CPU is the process's (nothing else runs
            // meanwhile); the sender works on the calling thread, while the Segment stand-in in this
            // JVM parses what it receives on others, so only the calling thread counts for it.
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
