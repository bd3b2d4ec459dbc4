package io.cohortsync.reliability.chaos;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.sender.SenderConfig;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookHandler;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One schedule's world: a fresh moto stack (table, delta queue with its redrive policy, DLQ,
 * secrets), a fresh Segment stand-in, a simulated clock, and both real handlers wired through their
 * {@code withPorts(...)} factories around the real adapters wrapped by {@link FaultyPorts}.
 */
public final class ChaosEnv implements AutoCloseable {
    public static final String TRAIT_PREFIX = IdentifyMessage.DEFAULT_TRAIT_PREFIX;
    /** Far below the production 10 s so an injected slow answer costs little; the stand-in answers in ms. */
    static final Duration SEGMENT_TIMEOUT = Duration.ofMillis(400);
    /** How long an injected slow Segment answer takes: well past {@link #SEGMENT_TIMEOUT}. */
    static final Duration SLOW_ANSWER = Duration.ofMillis(1_200);

    final AwsStack stack;
    final SegmentStandIn segment;
    final SimClock clock = new SimClock();
    final Faults faults = new Faults();
    final DeltaLedger ledger = new DeltaLedger(TRAIT_PREFIX);
    final WebhookHandler webhook;
    final SenderHandler sender;
    /** Reads the table directly, outside any fault: the checker's view of the truth. */
    final MembershipStore observer;
    final SqsDeltaQueue rawQueue;
    final AtomicInteger deadLettersWritten = new AtomicInteger();

    ChaosEnv(PrintStream senderOut, ChaosStats stats) {
        this.stack = AwsStack.create();
        this.segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        this.observer = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1);
        this.rawQueue = new SqsDeltaQueue(stack.sqs, stack.queueUrl);
        // The production factory delays deltas 5 s so commits land first; here time is simulated and
        // the sender is driven explicitly, so no delay: the sender meets deltas ahead of the table more often.
        WebhookConfig webhookConfig = new WebhookConfig(stack.tableName, stack.queueUrl, stack.webhookSecretId,
                MassExitPolicy.DEFAULT, Duration.ofHours(72), 6_000_000, Duration.ofSeconds(300), 16, Duration.ZERO);
        this.webhook = WebhookHandler.withPorts(webhookConfig,
                FaultyPorts.store(new DynamoMembershipStore(stack.dynamo, stack.tableName, 16), faults),
                FaultyPorts.deltaQueue(rawQueue::enqueue, faults, ledger),
                FaultyPorts.sessions(new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock),
                        faults),
                FaultyPorts.secrets(new SecretsManagerSource(stack.secrets), faults),
                clock);
        // Ahead-of-table deltas come back at once (delay 0): the driver advances simulated time instead.
        SenderConfig senderConfig = new SenderConfig(stack.tableName, stack.queueUrl, stack.dlqUrl,
                stack.segmentSecretId, segment.baseUrl(), TRAIT_PREFIX, Duration.ofSeconds(900), Duration.ZERO,
                SEGMENT_TIMEOUT, Duration.ofSeconds(300), Infrastructure.MAX_RECEIVE_COUNT);
        this.sender = SenderHandler.withPorts(senderConfig,
                FaultyPorts.store(new DynamoMembershipStore(stack.dynamo, stack.tableName, 1), faults),
                FaultyPorts.requeue(rawQueue, faults),
                FaultyPorts.deadLetters(new SqsDeadLetterQueue(stack.sqs, stack.dlqUrl), faults,
                        letters -> deadLettersWritten.addAndGet(letters.size())),
                FaultyPorts.secrets(new SecretsManagerSource(stack.secrets), faults),
                FaultyPorts.segment(new SegmentClient(segment.baseUrl(), clock), faults,
                        r -> countSegmentAnswer(stats, r)),
                senderOut, clock);
    }

    private static void countSegmentAnswer(ChaosStats stats, SegmentResponse r) {
        stats.count("segment requests");
        if (r instanceof SegmentResponse.TimedOut) {
            stats.count("segment timeouts seen");
        }
    }

    /** What one webhook attempt came to, as Mixpanel sees it. */
    record WebhookAnswer(int status, String body, boolean crashed, Faults.Invocation invocation, String requestId) {
    }

    WebhookAnswer invokeWebhook(String body, Faults.Plan plan) {
        Faults.Invocation inv = faults.open(plan);
        Context context = LambdaContexts.withRemaining("cohort-sync-webhook", Duration.ofSeconds(29));
        try {
            APIGatewayV2HTTPResponse r = webhook.handleRequest(ApiGatewayEvents.post(body), context);
            return new WebhookAnswer(r.getStatusCode(), r.getBody(), false, inv, context.getAwsRequestId());
        } catch (SimulatedCrash crash) {
            // API Gateway's answer when the function dies without a response.
            return new WebhookAnswer(500, "{\"message\":\"Internal Server Error\"}", true, inv, context.getAwsRequestId());
        } finally {
            faults.close();
        }
    }

    Map<String, Membership> read(String cohortId, Collection<String> users) {
        return observer.read(cohort(cohortId), users, true);
    }

    static CohortRef cohort(String cohortId) {
        return new CohortRef(Exports.PROJECT, cohortId);
    }

    /** Every membership row of the table: cohort id → user → state. */
    Map<String, Map<String, Membership>> table() {
        Map<String, Map<String, Membership>> rows = new HashMap<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = stack.dynamo.scan(s -> s.tableName(stack.tableName).consistentRead(true).exclusiveStartKey(from));
            for (Map<String, AttributeValue> item : page.items()) {
                String pk = item.get(Keys.PK).s();
                if (!pk.startsWith("M#")) {
                    continue;
                }
                String cohortId = pk.substring(pk.lastIndexOf('#') + 1);
                rows.computeIfAbsent(cohortId, c -> new HashMap<>()).put(item.get(Keys.SK).s(),
                        new Membership(Boolean.TRUE.equals(item.get("m").bool()), Long.parseLong(item.get("v").n())));
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return rows;
    }

    static List<String> cohortIds(Map<String, ?> m) {
        return m.keySet().stream().sorted().toList();
    }

    @Override
    public void close() {
        segment.close();
    }
}
