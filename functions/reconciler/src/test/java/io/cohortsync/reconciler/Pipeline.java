package io.cohortsync.reconciler;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookHandler;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The webhook and the reconciler as deployed on one moto stack: the real {@link WebhookHandler} in
 * front, the real {@link ReconcilerHandler} fed from the stack's reconcile queue the way its event source
 * mapping would (batches of {@value #BATCH}, what it acknowledges deleted, failures visible again at
 * once), and readers for the table and the queues that go around the adapters under test.
 */
final class Pipeline {
    static final String NAME = "Power users (30d)";
    /** The reconcile queue's event source mapping hands the function batches of this many records. */
    static final int BATCH = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    final AwsStack stack;
    /** The environment both functions get: the stack's, deltas undelayed (tests drain the queue at once). */
    final Map<String, String> env;
    final WebhookHandler webhook;
    ReconcilerHandler reconciler;
    /** Reconcile messages received to look at, handed to the reconciler first by the next {@link #reconcile}. */
    private final List<Message> held = new ArrayList<>();
    /** Records handed to the reconciler, invocations, and invocations that died (see {@link Crash}). */
    int records;
    int invocations;
    int crashes;

    /** @param reconcilerEnv extra variables for the reconciler (chunk sizes) */
    Pipeline(AwsStack stack, Map<String, String> reconcilerEnv) {
        this.stack = stack;
        this.env = new HashMap<>(stack.environment());
        env.put("DELTA_DELAY_SECONDS", "0");
        env.putAll(reconcilerEnv);
        this.webhook = WebhookHandler.forEnvironment(env);
        this.reconciler = ReconcilerHandler.forEnvironment(env);
    }

    static CohortRef cohort(String cohortId) {
        return new CohortRef(Exports.PROJECT, cohortId);
    }

    // ---- the reconciler around chosen ports (fault injection)

    /**
     * Replaces the reconciler by one around the real adapters, wired as {@code ReconcilerFactory.fromEnvironment}
     * wires them, each passed through its wrapper; it logs to {@code out}.
     */
    void wireReconciler(UnaryOperator<MembershipStore> store,
                        UnaryOperator<SessionStore> sessions,
                        UnaryOperator<CohortStore> cohorts,
                        UnaryOperator<ReconcileStore> progress,
                        UnaryOperator<ReconcileQueue> jobs, PrintStream out) {
        ReconcilerConfig config = ReconcilerConfig.fromEnvironment(env);
        Clock clock = Clock.systemUTC();
        String table = config.tableName();
        reconciler = ReconcilerHandler.of(ReconcilerFactory.create(config,
                store.apply(new DynamoMembershipStore(stack.dynamo, table, config.commitConcurrency(),
                        config.exitedTtl(), clock)),
                sessions.apply(new DynamoSessionStore(stack.dynamo, table, Duration.ofHours(72), clock)),
                cohorts.apply(new DynamoCohortStore(stack.dynamo, table, Duration.ofHours(72), clock)),
                progress.apply(new DynamoReconcileStore(stack.dynamo, table, config.historyTtl(), clock)),
                jobs.apply(new SqsReconcileQueue(stack.sqs, config.reconcileQueueUrl())),
                new SqsDeltaQueue(stack.sqs, config.deltaQueueUrl()),
                new DynamoSyncHistory(stack.dynamo, table, config.historyTtl(), clock), out, clock));
    }

    /** Thrown by a fault-injecting port: the function dies there (not an exception the code handles). */
    static final class Crash extends Error {
        Crash(String where) {
            super("injected crash: " + where);
        }
    }

    // ---- the webhook

    APIGatewayV2HTTPResponse post(String body) {
        return webhook.handleRequest(ApiGatewayEvents.post(body), null);
    }

    void postOk(String body) {
        APIGatewayV2HTTPResponse r = post(body);
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(200);
    }

    /** {@code GET /mixpanel/status} for one cohort, with the webhook's credentials. */
    JsonNode status(String cohortId) {
        var json = JSON.createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "GET /mixpanel/status");
        json.put("rawPath", "/mixpanel/status");
        json.put("rawQueryString", "project=" + Exports.PROJECT + "&cohort=" + cohortId);
        json.putObject("queryStringParameters").put("project", Exports.PROJECT).put("cohort", cohortId);
        json.putObject("headers").put("authorization",
                ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD));
        json.putObject("requestContext").put("requestId", "status-1").putObject("http").put("method", "GET")
                .put("path", "/mixpanel/status");
        json.put("isBase64Encoded", false);
        APIGatewayV2HTTPResponse r = webhook.handleRequest(
                ApiGatewayEvents.parse(json.toString()), null);
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(200);
        return parse(r.getBody());
    }

    /** Members in pages of at most 1,000 (the webhook's slice), as add_members calls. */
    void addAll(String cohortId, String name, List<String> ids) {
        for (int from = 0; from < ids.size(); from += 1000) {
            postOk(Exports.add(cohortId, name, ids.subList(from, Math.min(ids.size(), from + 1000))));
        }
    }

    // ---- the reconcile queue

    /** The jobs now on the reconcile queue (received: invisible until {@link #reconcile} hands them on). */
    List<ReconcileJob> queuedJobs() {
        List<Message> messages = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 1000);
        held.addAll(messages);
        return messages.stream().map(m -> ReconcileJobCodec.decode(m.body())).toList();
    }

    /** Runs the reconciler until its queue is empty; every record must be acknowledged. */
    void reconcile() {
        reconcile(batch -> { });
    }

    /**
     * Runs the reconciler until its queue is empty, calling {@code beforeBatch} with each batch's jobs
     * before the batch is handed over (to interleave webhook requests between chunks). A {@link Crash}
     * kills the invocation: as after a function error, every record of the batch comes back.
     */
    void reconcile(Consumer<List<ReconcileJob>> beforeBatch) {
        while (true) {
            List<Message> batch;
            if (!held.isEmpty()) {
                batch = new ArrayList<>(held.subList(0, Math.min(BATCH, held.size())));
                held.removeAll(batch);
            } else {
                batch = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, BATCH);
            }
            if (batch.isEmpty()) {
                assertQueueEmpty();
                return;
            }
            assertThat(++invocations).as("reconciler invocations").isLessThan(2000);
            records += batch.size();
            beforeBatch.accept(batch.stream().map(m -> ReconcileJobCodec.decode(m.body())).toList());
            SQSBatchResponse response;
            try {
                response = reconciler.handleRequest(SqsEvents.event(stack.reconcileQueueUrl, batch),
                        LambdaContexts.withRemaining("cohort-sync-reconciler", Duration.ofSeconds(120)));
            } catch (Crash died) {
                crashes++;
                batch.forEach(m -> stack.sqs.changeMessageVisibility(b -> b.queueUrl(stack.reconcileQueueUrl)
                        .receiptHandle(m.receiptHandle()).visibilityTimeout(0)));
                continue;
            }
            assertThat(response.getBatchItemFailures()).as("reconcile records that failed").isEmpty();
            SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, batch, response);
        }
    }

    /** Nothing waits on the queue, delayed or in flight: the work is really over, not merely invisible. */
    void assertQueueEmpty() {
        Map<QueueAttributeName, String> a = stack.sqs.getQueueAttributes(b -> b.queueUrl(stack.reconcileQueueUrl)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        // all three asked for must be answered: an empty map would pass the check on every value
        assertThat(a).as("reconcile queue").containsOnlyKeys(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)
                .allSatisfy((k, v) -> assertThat(v).isEqualTo("0"));
    }

    // ---- what the table and the delta queue hold

    List<Delta> drainDeltas() {
        return QueueReader.drainDeltas(stack.sqs, stack.queueUrl);
    }

    /** Every membership item of a cohort, read with plain Queries of its 16 partitions (not through the adapter). */
    Map<String, Membership> table(String cohortId) {
        Map<String, Membership> rows = new HashMap<>();
        for (Map<String, AttributeValue> i : rawMembership(cohortId)) {
            rows.put(i.get("sk").s(), membership(i));
        }
        return rows;
    }

    /** The raw membership items of a cohort, every shard. */
    List<Map<String, AttributeValue>> rawMembership(String cohortId) {
        List<Map<String, AttributeValue>> rows = new ArrayList<>();
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            rows.addAll(rawItems(Keys.membershipPk(cohort(cohortId), shard)));
        }
        return rows;
    }

    /** The membership items of one partition, by sort key. */
    Map<String, Membership> items(String pk) {
        Map<String, Membership> rows = new HashMap<>();
        for (Map<String, AttributeValue> i : rawItems(pk)) {
            rows.put(i.get("sk").s(), membership(i));
        }
        return rows;
    }

    /** Every item of one partition, strongly consistent, page by page. */
    List<Map<String, AttributeValue>> rawItems(String pk) {
        List<Map<String, AttributeValue>> rows = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = stack.dynamo.query(q -> q.tableName(stack.tableName).consistentRead(true)
                    .keyConditionExpression("pk = :pk")
                    .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(pk))).exclusiveStartKey(from));
            rows.addAll(page.items());
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return rows;
    }

    static Membership membership(Map<String, AttributeValue> i) {
        return new Membership(i.get("m").bool(), Long.parseLong(i.get("v").n()),
                i.containsKey("u") ? i.get("u").s() : null,
                i.containsKey("n") ? Long.parseLong(i.get("n").n()) : 0,
                i.containsKey("e") ? Long.parseLong(i.get("e").n()) : 0);
    }

    SessionOutcome outcome(String cohortId, String sessionId) {
        return new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(1), Clock.systemUTC())
                .outcome(new SessionKey(cohort(cohortId), sessionId)).orElseThrow();
    }

    CohortState cohortState(String cohortId) {
        return new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(1), Clock.systemUTC())
                .load(cohort(cohortId)).orElseThrow();
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + json, e);
        }
    }
}
