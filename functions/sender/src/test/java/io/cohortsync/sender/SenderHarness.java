package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.testkit.Tee;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The real sender (handler, factory, adapters) on a fresh moto stack, pointed at a Segment stand-in,
 * with its log captured. Deltas are produced the way the webhook produces them ({@link SqsDeltaQueue})
 * and membership committed the way it commits ({@link DynamoMembershipStore#commit}).
 *
 * <p>By default the handler is {@link SenderFactory#create} around the real adapters (what tools
 * that wire their own ports use); {@link #deployed} builds it exactly as the Lambda runtime does
 * (environment, {@link AwsClients}, sync history on), for measurements of the deployed function.
 */
final class SenderHarness {
    static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    static final String COHORT_NAME = "Power users";
    static final String TRAIT = "Mixpanel - " + COHORT_NAME;
    static final Duration FULL_BUDGET = Duration.ofSeconds(60);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    final AwsStack stack;
    final SegmentStandIn segment;
    final Map<String, String> env;
    final DynamoMembershipStore store;
    final DynamoCohortStore cohorts;
    final SqsDeltaQueue queue;
    final SenderHandler handler;
    final Instant observedAt = Instant.now();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    SenderHarness(AwsStack stack, SegmentStandIn segment, Map<String, String> overrides) {
        this(stack, segment, overrides, false);
    }

    /** The handler as the Lambda runtime builds it ({@code SenderFactory.fromEnvironment}), its output captured. */
    static SenderHarness deployed(AwsStack stack, SegmentStandIn segment, Map<String, String> overrides) {
        return new SenderHarness(stack, segment, overrides, true);
    }

    private SenderHarness(AwsStack stack, SegmentStandIn segment, Map<String, String> overrides, boolean deployed) {
        this.stack = stack;
        this.segment = segment;
        this.env = new HashMap<>(stack.environment());
        env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
        env.putAll(overrides);
        Clock clock = Clock.systemUTC();
        // The test's own writes (commits, cohort items) go to the stack's table, whatever TABLE_NAME the sender gets.
        this.store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 16, Duration.ofDays(30), clock);
        this.cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock);
        this.queue = new SqsDeltaQueue(stack.sqs, stack.queueUrl);
        PrintStream out = new PrintStream(new Tee(log, System.out), true, StandardCharsets.UTF_8);
        SenderConfig config = SenderConfig.fromEnvironment(env);
        if (deployed) {
            this.handler = new SenderHandler(SenderFactory.create(config, AwsClients.fromLambdaEnvironment(env), out,
                    clock));
        } else {
            // The sender's own adapters read what its configuration names (a test may point them at a missing table).
            this.handler = SenderHandler.of(SenderFactory.create(config,
                    new DynamoMembershipStore(stack.dynamo, config.tableName(), 1, Duration.ZERO, clock),
                    new DynamoCohortStore(stack.dynamo, config.tableName(), Duration.ZERO, clock),
                    new SqsDeltaQueue(stack.sqs, config.deltaQueueUrl()),
                    new SqsDeadLetterQueue(stack.sqs, config.dlqUrl()),
                    new SecretsManagerSource(stack.secrets),
                    new SegmentClient(config.segmentBaseUrl(), clock), SyncHistory.DISABLED, out, clock));
        }
    }

    /** Stores the cohort item the webhook would have stored (its current name, its name history). */
    void storeCohort(CohortRef cohort, CohortState state) {
        if (!cohorts.create(cohort, state)) {
            throw new IllegalStateException("test setup: the cohort item exists already");
        }
    }

    /**
     * A change in the test cohort, observed at this harness's one observation time: like the webhook,
     * which stamps every delta of one export alike, so they share a queue message.
     */
    Delta delta(String user, boolean member, long version) {
        return deltaAt(COHORT, COHORT_NAME, user, member, version, observedAt);
    }

    static Delta deltaAt(CohortRef cohort, String name, String user, boolean member, long version, Instant observedAt) {
        return new Delta(cohort, name, user, member, version, observedAt);
    }

    /** Commits each delta's change as the webhook would: from the opposite membership one version below. */
    void commit(Delta... deltas) {
        commit(List.of(deltas));
    }

    void commit(List<Delta> deltas) {
        Map<CohortRef, List<Change>> byCohort = new LinkedHashMap<>();
        for (Delta d : deltas) {
            Membership from = d.version() == 1 ? Membership.ABSENT : new Membership(!d.member(), d.version() - 1);
            byCohort.computeIfAbsent(d.cohort(), c -> new ArrayList<>())
                    .add(new Change(d.distinctId(), from, d.membership()));
        }
        commitChanges(byCohort);
    }

    /** Commits exact changes (e.g. a rename's re-announcement, which keeps membership and bumps the name version). */
    void commit(CohortRef cohort, Change... changes) {
        commitChanges(Map.of(cohort, List.of(changes)));
    }

    private void commitChanges(Map<CohortRef, List<Change>> byCohort) {
        byCohort.forEach((cohort, changes) -> {
            if (!store.commit(cohort, changes).isEmpty()) {
                throw new IllegalStateException("test setup: a commit lost its condition");
            }
        });
    }

    /** One queue message per header, as the webhook packs them. */
    void enqueue(Delta... deltas) {
        queue.enqueue(List.of(deltas));
    }

    void enqueue(List<Delta> deltas) {
        queue.enqueue(deltas);
    }

    /** Each delta in its own queue message. */
    void enqueueSeparately(Delta... deltas) {
        for (Delta d : deltas) {
            queue.enqueue(List.of(d));
        }
    }

    List<Message> receive() {
        return SqsEvents.receive(stack.sqs, stack.queueUrl, 10);
    }

    SQSBatchResponse invoke(List<Message> messages) {
        return invoke(messages, FULL_BUDGET);
    }

    SQSBatchResponse invoke(List<Message> messages, Duration remaining) {
        return handler.handleRequest(SqsEvents.event(stack.queueUrl, messages),
                LambdaContexts.withRemaining("cohort-sync-sender", remaining));
    }

    /** One poll of the event source mapping: receive what is visible, invoke, settle. */
    SQSBatchResponse poll() {
        return poll(FULL_BUDGET);
    }

    SQSBatchResponse poll(Duration remaining) {
        List<Message> messages = receive();
        SQSBatchResponse response = invoke(messages, remaining);
        SqsEvents.settle(stack.sqs, stack.queueUrl, messages, response);
        return response;
    }

    static List<String> failedIds(SQSBatchResponse response) {
        return response.getBatchItemFailures().stream().map(SQSBatchResponse.BatchItemFailure::getItemIdentifier).toList();
    }

    String logText() {
        return log.toString(StandardCharsets.UTF_8);
    }

    List<JsonNode> logLines() {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : logText().split("\n")) {
            if (!line.isBlank()) {
                try {
                    lines.add(MAPPER.readTree(line));
                } catch (IOException e) {
                    throw new UncheckedIOException("not a JSON log line: " + line, e);
                }
            }
        }
        return lines;
    }

    /** The invocation summaries, in order. */
    List<JsonNode> summaries() {
        return logLines().stream().filter(l -> "sender batch handled".equals(l.path("message").asText())).toList();
    }

    JsonNode lastSummary() {
        return summaries().getLast();
    }

    /** The EMF lines, in order. */
    List<JsonNode> metricLines() {
        return logLines().stream().filter(l -> l.has("_aws")).toList();
    }
}
