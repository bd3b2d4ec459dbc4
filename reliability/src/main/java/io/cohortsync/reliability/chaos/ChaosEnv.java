package io.cohortsync.reliability.chaos;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.reconciler.ReconcilerConfig;
import io.cohortsync.reconciler.ReconcilerFactory;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.sender.SenderConfig;
import io.cohortsync.sender.SenderFactory;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One schedule's world: a fresh moto stack (table, delta and reconcile queues with their redrive
 * policies and DLQs, secrets with one set of credentials and one Segment destination per connection), a
 * fresh Segment stand-in, a simulated clock, and the three real handlers wired through their public
 * factories around the real adapters wrapped by {@link FaultyPorts}.
 */
public final class ChaosEnv implements AutoCloseable {
    public static final String TRAIT_PREFIX = IdentifyMessage.DEFAULT_TRAIT_PREFIX;
    /** Far below the production 10 s so an injected slow answer costs little; the stand-in answers in ms. */
    static final Duration SEGMENT_TIMEOUT = Duration.ofMillis(400);
    /** How long an injected slow Segment answer takes: well past {@link #SEGMENT_TIMEOUT}. */
    static final Duration SLOW_ANSWER = Duration.ofMillis(1_200);
    static final Duration SENDER_TIMEOUT = Duration.ofSeconds(Infrastructure.SENDER_TIMEOUT_SECONDS);
    static final Duration RECONCILER_TIMEOUT = Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS);
    private static final ObjectMapper JSON = new ObjectMapper();

    final AwsStack stack;
    final SegmentStandIn segment;
    final SimClock clock = new SimClock();
    final Faults faults = new Faults();
    final DeltaLedger ledger = new DeltaLedger(TRAIT_PREFIX);
    final JobLedger jobLedger = new JobLedger();
    final WebhookHandler webhook;
    final SenderHandler sender;
    final ReconcilerHandler reconciler;
    /** Read the table directly, outside any fault: the checker's view of the truth. */
    final DynamoMembershipStore observer;
    final DynamoCohortStore cohortObserver;
    final DynamoSessionStore sessionObserver;
    final SqsDeltaQueue rawQueue;
    /** Delayed SQS messages of both queues, waiting in simulated time. */
    final DelayedSends delayed;
    final AtomicInteger deadLettersWritten = new AtomicInteger();
    /** Webhook password of each connection (the default one is {@link AwsStack#WEBHOOK_PASSWORD}). */
    final Map<String, String> passwords = new HashMap<>();

    /**
     * @param connections the connections the schedule's cohorts use ({@link CohortRef#DEFAULT_CONNECTION} or names)
     * @param reconcile   the reconciler's chunks, passes and continuations (small ones make many checkpoints)
     */
    ChaosEnv(PrintStream functionsOut, ChaosStats stats, List<String> connections, ReconcileConfig reconcile) {
        this.stack = AwsStack.create();
        this.segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        writeSecrets(connections);
        Duration sessionTtl = Duration.ofHours(72);
        Duration exitedTtl = Duration.ofDays(30);
        this.observer = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, exitedTtl, clock);
        this.cohortObserver = new DynamoCohortStore(stack.dynamo, stack.tableName, sessionTtl, clock);
        this.sessionObserver = new DynamoSessionStore(stack.dynamo, stack.tableName, sessionTtl, clock);
        this.rawQueue = new SqsDeltaQueue(stack.sqs, stack.queueUrl);
        this.delayed = new DelayedSends(stack.sqs, clock);
        SqsReconcileQueue rawJobs = new SqsReconcileQueue(stack.sqs, stack.reconcileQueueUrl);

        // The production factories delay deltas 5 s so commits land first; here time is simulated and the
        // functions are driven explicitly, so no delay: the sender meets deltas ahead of the table more often.
        WebhookConfig webhookConfig = new WebhookConfig(stack.tableName, stack.queueUrl, stack.reconcileQueueUrl,
                stack.webhookSecretId, sessionTtl, 6_000_000, Duration.ofSeconds(300), 16, Duration.ZERO);
        this.webhook = WebhookHandler.of(WebhookFactory.create(webhookConfig, new WebhookPorts(
                FaultyPorts.store(new DynamoMembershipStore(stack.dynamo, stack.tableName, 16, exitedTtl, clock), faults),
                FaultyPorts.deltaQueue("queue.enqueue", rawQueue::enqueue, faults, ledger),
                FaultyPorts.sessions(new DynamoSessionStore(stack.dynamo, stack.tableName, sessionTtl, clock), faults),
                FaultyPorts.cohorts(new DynamoCohortStore(stack.dynamo, stack.tableName, sessionTtl, clock), faults),
                FaultyPorts.jobs(rawJobs, faults, jobLedger, delayed, stack.reconcileQueueUrl),
                FaultyPorts.progress(new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(30), clock),
                        faults),
                SyncHistory.DISABLED,
                FaultyPorts.secrets(new SecretsManagerSource(stack.secrets), faults)), clock));

        // Ahead-of-table deltas wait the production 15 s, in simulated time (DelayedSends).
        SenderConfig senderConfig = new SenderConfig(stack.tableName, stack.queueUrl, stack.dlqUrl,
                stack.segmentSecretId, segment.baseUrl(), TRAIT_PREFIX, Duration.ofSeconds(900), Duration.ofSeconds(15),
                SEGMENT_TIMEOUT, Duration.ofSeconds(300), Infrastructure.MAX_RECEIVE_COUNT);
        this.sender = SenderHandler.of(SenderFactory.create(senderConfig,
                FaultyPorts.store(new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, exitedTtl, clock), faults),
                FaultyPorts.cohorts(new DynamoCohortStore(stack.dynamo, stack.tableName, sessionTtl, clock), faults),
                FaultyPorts.requeue(delayed, stack.queueUrl, faults),
                FaultyPorts.deadLetters(new SqsDeadLetterQueue(stack.sqs, stack.dlqUrl), faults,
                        letters -> deadLettersWritten.addAndGet(letters.size())),
                FaultyPorts.secrets(new SecretsManagerSource(stack.secrets), faults),
                FaultyPorts.segment(new SegmentClient(segment.baseUrl(), clock), faults,
                        r -> countSegmentAnswer(stats, r)),
                SyncHistory.DISABLED, functionsOut, clock));

        ReconcilerConfig reconcilerConfig = new ReconcilerConfig(stack.tableName, stack.queueUrl,
                stack.reconcileQueueUrl, reconcile, 16, Duration.ZERO, exitedTtl, Duration.ZERO,
                ReconcilerConfig.DEFAULT_DEADLINE_MARGIN);
        this.reconciler = ReconcilerHandler.of(ReconcilerFactory.create(reconcilerConfig,
                FaultyPorts.store(new DynamoMembershipStore(stack.dynamo, stack.tableName, 16, exitedTtl, clock), faults),
                FaultyPorts.sessions(new DynamoSessionStore(stack.dynamo, stack.tableName, sessionTtl, clock), faults),
                FaultyPorts.cohorts(new DynamoCohortStore(stack.dynamo, stack.tableName, sessionTtl, clock), faults),
                FaultyPorts.progress(new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(30), clock),
                        faults),
                FaultyPorts.jobs(rawJobs, faults, jobLedger, delayed, stack.reconcileQueueUrl),
                FaultyPorts.deltaQueue("deltas.enqueue", rawQueue::enqueue, faults, ledger),
                SyncHistory.DISABLED, functionsOut, clock));
    }

    /** One webhook user and password, and one Segment destination (the stand-in's write key), per connection. */
    private void writeSecrets(List<String> connections) {
        ObjectNode webhook = JSON.createObjectNode();
        webhook.put("username", AwsStack.WEBHOOK_USERNAME).put("password", AwsStack.WEBHOOK_PASSWORD);
        ObjectNode segmentSecret = JSON.createObjectNode().put("writeKey", AwsStack.SEGMENT_WRITE_KEY);
        passwords.put(CohortRef.DEFAULT_CONNECTION, AwsStack.WEBHOOK_PASSWORD);
        ObjectNode webhookConnections = webhook.putObject("connections");
        ObjectNode segmentConnections = segmentSecret.putObject("connections");
        for (String c : connections) {
            if (!c.equals(CohortRef.DEFAULT_CONNECTION)) {
                String password = AwsStack.WEBHOOK_PASSWORD + "-" + c;
                passwords.put(c, password);
                webhookConnections.putObject(c).put("username", AwsStack.WEBHOOK_USERNAME + "-" + c)
                        .put("password", password);
                segmentConnections.putObject(c).put("writeKey", AwsStack.SEGMENT_WRITE_KEY);
            }
        }
        Infrastructure.putSecret(stack.secrets, stack.webhookSecretId, webhook.toString());
        Infrastructure.putSecret(stack.secrets, stack.segmentSecretId, segmentSecret.toString());
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

    WebhookAnswer invokeWebhook(String connection, String body, Faults.Plan plan) {
        Faults.Invocation inv = faults.open(plan);
        Context context = LambdaContexts.withRemaining("cohort-sync-webhook", Duration.ofSeconds(29));
        try {
            APIGatewayV2HTTPResponse r = webhook.handleRequest(event(connection, body), context);
            return new WebhookAnswer(r.getStatusCode(), r.getBody(), false, inv, context.getAwsRequestId());
        } catch (SimulatedCrash crash) {
            // API Gateway's answer when the function dies without a response.
            return new WebhookAnswer(500, "{\"message\":\"Internal Server Error\"}", true, inv, context.getAwsRequestId());
        } finally {
            faults.close();
        }
    }

    /** {@code POST /mixpanel} for the default connection, {@code POST /mixpanel/<connection>} for others. */
    private APIGatewayV2HTTPEvent event(String connection, String body) {
        boolean standard = connection.equals(CohortRef.DEFAULT_CONNECTION);
        String user = standard ? AwsStack.WEBHOOK_USERNAME : AwsStack.WEBHOOK_USERNAME + "-" + connection;
        APIGatewayV2HTTPEvent event = ApiGatewayEvents.post(body, ApiGatewayEvents.basic(user, passwords.get(connection)));
        if (!standard) {
            event.setRawPath("/mixpanel/" + connection);
            event.getRequestContext().getHttp().setPath("/mixpanel/" + connection);
            event.setRouteKey("POST /mixpanel/{connection}");
        }
        return event;
    }

    Map<String, Membership> read(CohortRef cohort, Collection<String> users) {
        return observer.read(cohort, users, true);
    }

    Optional<CohortState> cohortState(CohortRef cohort) {
        return cohortObserver.load(cohort);
    }

    Optional<SessionOutcome> outcome(CohortRef cohort, String sessionId) {
        return sessionObserver.outcome(new SessionKey(cohort, sessionId));
    }

    static CohortRef cohort(String connection, String cohortId) {
        return new CohortRef(connection, Exports.PROJECT, cohortId);
    }

    /** Every item of the table, read with a raw Scan (not through the code under test). */
    List<Map<String, AttributeValue>> items() {
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = stack.dynamo.scan(s -> s.tableName(stack.tableName).consistentRead(true).exclusiveStartKey(from));
            items.addAll(page.items());
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return items;
    }

    /** The membership rows: cohort id → user → state, from {@link #items()}. */
    record Table(Map<String, Map<String, Membership>> rows, List<String> problems, int legacyItems) {
    }

    /**
     * Parses membership items ({@code M[!<connection>]#<project>#<cohort>#<shard>}, README "State"): each must
     * sit in the shard {@link Shards#of} names for its id. Items of the old single-partition layout
     * ({@code M#<project>#<cohort>}) are counted apart: none may be left once migrations finished.
     */
    Table table() {
        Map<String, Map<String, Membership>> rows = new HashMap<>();
        List<String> problems = new ArrayList<>();
        int legacy = 0;
        for (Map<String, AttributeValue> item : items()) {
            String pk = item.get(Keys.PK).s();
            if (!(pk.startsWith("M#") || pk.startsWith("M!"))) {
                continue;
            }
            String[] parts = pk.split("#", -1);
            if (parts.length == 3) {
                legacy++;
                continue;
            }
            String cohortId = parts[2];
            String user = item.get(Keys.SK).s();
            if (parts.length != 4 || !parts[3].equals(String.format("%02x", Shards.of(user)))) {
                problems.add("membership item of cohort " + cohortId + " under " + pk + " is not in its user's shard");
            }
            AttributeValue n = item.get("n");
            AttributeValue e = item.get("e");
            rows.computeIfAbsent(cohortId, c -> new HashMap<>()).put(user,
                    new Membership(Boolean.TRUE.equals(item.get("m").bool()), Long.parseLong(item.get("v").n()), null,
                            n == null ? 0 : Long.parseLong(n.n()), e == null ? 0 : Long.parseLong(e.n())));
        }
        return new Table(rows, problems, legacy);
    }

    @Override
    public void close() {
        segment.close();
    }
}
