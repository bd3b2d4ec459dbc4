package io.cohortsync.infra;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.testkit.Tee;
import io.cohortsync.webhook.WebhookHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code SEGMENT_CALLS} (Audience Entered/Exited track events) and {@code MISSING_USER_ID=anonymous} through
 * the three real handlers built from the environment as Lambda builds them, on moto, against the Segment
 * stand-in: the exact JSON Segment receives, the ids per call type, a redelivery, a rename, the counts.
 */
@ExtendWith(MotoExtension.class)
class SegmentCallsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NAME = "Power users";
    private static final String NEW_NAME = "Power users (renamed)";

    private AwsStack stack;
    private SegmentStandIn segment;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private PrintStream original;
    private WebhookHandler webhook;
    private SenderHandler sender;
    private ReconcilerHandler reconciler;

    @BeforeEach
    void setUp(AwsStack stack) {
        this.stack = stack;
        segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        original = System.out;
        System.setOut(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void tearDown() {
        System.setOut(original);
        segment.close();
    }

    private void start(Map<String, String> settings) {
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("DELTA_DELAY_SECONDS", "0"); // the test drains the queue itself, after each request
        env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
        env.putAll(settings);
        webhook = WebhookHandler.forEnvironment(env);
        sender = SenderHandler.forEnvironment(env);
        reconciler = ReconcilerHandler.forEnvironment(env);
    }

    @Test
    void identifyAndTrack_sendsEnteredAndExitedEvents_withIdsPerCallType_stableAcrossARedelivery_anonymousToo()
            throws Exception {
        start(Map.of("SEGMENT_CALLS", "identify,track", "USER_ID_PROPERTY", "email", "MISSING_USER_ID", "anonymous"));

        // given an add_members with a member who has the email property and one who has not
        post(Exports.add("t1", NAME, Exports.users("a", 0, 1))
                .replace("\"members\":[", "\"members\":[{\"mixpanel_distinct_id\":\"anon-1\"},"));
        List<Message> deltas = SqsEvents.receive(stack.sqs, stack.queueUrl, 10);
        assertThat(deltas).isNotEmpty();

        // when the sender gets the queue's messages, and then the same messages again (an SQS redelivery)
        send(deltas);
        SqsEvents.settle(stack.sqs, stack.queueUrl, deltas, send(deltas));

        // then Segment got an identify and an Audience Entered event per member, each with its own messageId
        List<JsonNode> accepted = segment.accepted();
        assertThat(accepted).hasSize(4);
        JsonNode named = one(accepted, "identify", "userId", "a0@mail.example.org");
        JsonNode anonymous = one(accepted, "identify", "anonymousId", "anon-1");
        assertThat(named.has("anonymousId")).isFalse();
        assertThat(anonymous.has("userId")).isFalse();
        assertThat(named.path("traits")).isEqualTo(JSON.readTree("{\"Mixpanel - Power users\":true}"));
        JsonNode entered = one(accepted, "track", "userId", "a0@mail.example.org");
        assertThat(entered).isEqualTo(JSON.readTree("""
                {"type":"track","userId":"a0@mail.example.org","event":"Audience Entered",
                 "properties":{"audience_key":"Mixpanel - Power users","mixpanel_cohort_id":"t1",
                               "mixpanel_cohort_name":"Power users","mixpanel_project_id":"%s"},
                 "messageId":"%s","timestamp":"%s"}""".formatted(Exports.PROJECT, entered.path("messageId").asText(),
                named.path("timestamp").asText())));
        JsonNode anonymousEntered = one(accepted, "track", "anonymousId", "anon-1");
        assertThat(anonymousEntered.has("userId")).isFalse();
        assertThat(anonymousEntered.path("event").asText()).isEqualTo("Audience Entered");
        assertThat(accepted).extracting(m -> m.path("messageId").asText()).doesNotHaveDuplicates()
                .allSatisfy(id -> assertThat(id).matches("cohort-sync-[A-Za-z0-9_-]{43}"));
        // and the redelivery sent byte for byte the same messages, which Segment dropped as copies
        List<SegmentStandIn.RecordedRequest> requests = segment.requests();
        assertThat(requests).hasSize(2);
        assertThat(requests.get(1).messages()).containsExactlyElementsOf(requests.get(0).messages());
        assertThat(segment.duplicates()).isEqualTo(4);
        assertThat(segment.droppedInvalid()).isZero();

        // when the cohort is renamed (a member listed under the new name): the reconciler re-announces everyone
        post(Exports.add("t1", NEW_NAME, Exports.users("a", 0, 1)));
        drainReconcileQueue();
        drainDeltaQueue();

        // then each member gets the renaming identify, to the same id as before, and no event: nobody entered or left
        List<JsonNode> renamed = segment.accepted().subList(4, segment.accepted().size());
        assertThat(renamed).hasSize(2).allSatisfy(m -> {
            assertThat(m.path("type").asText()).isEqualTo("identify");
            assertThat(m.path("traits")).isEqualTo(JSON.readTree(
                    "{\"Mixpanel - Power users\":false,\"Mixpanel - Power users (renamed)\":true}"));
        });
        assertThat(one(renamed, "identify", "anonymousId", "anon-1").has("userId")).isFalse();
        one(renamed, "identify", "userId", "a0@mail.example.org");

        // when both leave, listed without the email property this time
        post(Exports.remove("t1", NEW_NAME, List.of("anon-1", "a0@example.com")).replaceAll(
                ",\"email\":\"[^\"]*\"", ""));
        drainDeltaQueue();

        // then each exit reaches the profile its enter reached, as identify false and Audience Exited
        List<JsonNode> exits = segment.accepted().subList(6, segment.accepted().size());
        assertThat(exits).hasSize(4);
        assertThat(one(exits, "identify", "userId", "a0@mail.example.org").path("traits"))
                .isEqualTo(JSON.readTree("{\"Mixpanel - Power users (renamed)\":false}"));
        assertThat(one(exits, "identify", "anonymousId", "anon-1").path("traits"))
                .isEqualTo(JSON.readTree("{\"Mixpanel - Power users (renamed)\":false}"));
        JsonNode exited = one(exits, "track", "anonymousId", "anon-1");
        assertThat(exited.path("event").asText()).isEqualTo("Audience Exited");
        assertThat(exited.path("properties").path("audience_key").asText()).isEqualTo("Mixpanel - " + NEW_NAME);
        assertThat(one(exits, "track", "userId", "a0@mail.example.org").path("event").asText())
                .isEqualTo("Audience Exited");
        assertThat(segment.accepted()).extracting(m -> m.path("messageId").asText()).doesNotHaveDuplicates();

        // and the anonymous members are counted: history, log, metrics; track events have their own metric
        List<HistoryEntry> history = history("t1");
        assertThat(history).extracting(HistoryEntry::action, HistoryEntry::anonymous)
                .contains(org.assertj.core.groups.Tuple.tuple("add_members", 1),
                        org.assertj.core.groups.Tuple.tuple("remove_members", 2));
        String output = captured.toString(StandardCharsets.UTF_8);
        assertThat(output).contains("\"membersAnonymous\":1").contains("\"tracksSent\":2");
        assertThat(emfSum(output, "webhook", "MembersAnonymous")).isEqualTo(3);
        // (the redelivery's copies count as sent: Segment answers 200 to a copy it drops)
        assertThat(emfSum(output, "sender", "TracksSent")).isEqualTo(2 + 2 + 0 + 2);
        assertThat(emfSum(output, "sender", "IdentifiesSent")).isEqualTo(2 + 2 + 2 + 2);
        // never a distinct id or user id in a log line
        assertThat(output).doesNotContain("anon-1").doesNotContain("a0@");
    }

    @Test
    void trackOnly_sendsTheEventsAlone_andARenameSendsNothing() throws Exception {
        start(Map.of("SEGMENT_CALLS", "track"));

        // given two members enter
        post(Exports.add("t2", NAME, Exports.users("r", 0, 2)));
        drainDeltaQueue();
        assertThat(segment.acceptedIdentifies()).isEmpty();
        assertThat(segment.acceptedTracks()).hasSize(2).allSatisfy(m -> {
            assertThat(m.path("event").asText()).isEqualTo("Audience Entered");
            assertThat(m.path("userId").asText()).matches("r[01]@example.com");
        });

        // when the cohort is renamed
        post(Exports.add("t2", NEW_NAME, Exports.users("r", 0, 1)));
        drainReconcileQueue();
        drainDeltaQueue();

        // then nothing is sent: no trait to move, no membership changed
        assertThat(segment.accepted()).hasSize(2);

        // and a later exit carries the new name
        post(Exports.remove("t2", NEW_NAME, Exports.users("r", 1, 1)));
        drainDeltaQueue();
        assertThat(segment.acceptedIdentifies()).isEmpty();
        assertThat(segment.acceptedTracks()).hasSize(3).last().satisfies(m -> {
            assertThat(m.path("event").asText()).isEqualTo("Audience Exited");
            assertThat(m.path("userId").asText()).isEqualTo("r1@example.com");
            assertThat(m.path("properties").path("audience_key").asText()).isEqualTo("Mixpanel - " + NEW_NAME);
        });
    }

    @Test
    void defaults_sendIdentifiesOnly_andSkipMembersWithoutTheUserIdProperty() throws Exception {
        start(Map.of("USER_ID_PROPERTY", "email"));

        // given a member with the property and one without
        post(Exports.add("t3", NAME, Exports.users("s", 0, 1))
                .replace("\"members\":[", "\"members\":[{\"mixpanel_distinct_id\":\"anon-3\"},"));
        drainDeltaQueue();

        // then one identify, to the mapped id; the other member is skipped and counted, as before
        assertThat(segment.accepted()).singleElement().satisfies(m -> {
            assertThat(m.path("type").asText()).isEqualTo("identify");
            assertThat(m.path("userId").asText()).isEqualTo("s0@mail.example.org");
        });
        assertThat(history("t3")).singleElement().satisfies(e -> {
            assertThat(e.skipped()).containsEntry("MISSING_USER_ID", 1);
            assertThat(e.anonymous()).isZero();
        });
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain("tracksSent").doesNotContain(
                "membersAnonymous");
    }

    private void post(String body) {
        assertThat(webhook.handleRequest(ApiGatewayEvents.post(body), null).getStatusCode()).isEqualTo(200);
    }

    private SQSBatchResponse send(List<Message> messages) {
        SQSBatchResponse response = sender.handleRequest(SqsEvents.event(stack.queueUrl, messages),
                LambdaContexts.withRemaining("sender", Duration.ofSeconds(60)));
        assertThat(response.getBatchItemFailures()).as("sender batch item failures").isEmpty();
        return response;
    }

    private void drainDeltaQueue() {
        List<Message> messages;
        while (!(messages = SqsEvents.receive(stack.sqs, stack.queueUrl, 10)).isEmpty()) {
            SqsEvents.settle(stack.sqs, stack.queueUrl, messages, send(messages));
        }
    }

    private void drainReconcileQueue() {
        for (int invocations = 0; invocations < 200; invocations++) {
            List<Message> messages = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 1);
            if (messages.isEmpty()) {
                return;
            }
            SQSBatchResponse response = reconciler.handleRequest(SqsEvents.event(stack.reconcileQueueUrl, messages),
                    LambdaContexts.withRemaining("reconciler", Duration.ofSeconds(120)));
            assertThat(response.getBatchItemFailures()).as("reconcile job failures").isEmpty();
            SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, messages, response);
        }
        throw new AssertionError("the reconcile queue did not drain in 200 invocations");
    }

    private List<HistoryEntry> history(String cohortId) {
        return new DynamoSyncHistory(stack.dynamo, stack.tableName, Duration.ofDays(1), Clock.systemUTC())
                .recent(new CohortRef(Exports.PROJECT, cohortId), 10);
    }

    /** The one message of {@code type} whose {@code idField} is {@code id}. */
    private static JsonNode one(List<JsonNode> messages, String type, String idField, String id) {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode m : messages) {
            if (type.equals(m.path("type").asText()) && id.equals(m.path(idField).asText())) {
                found.add(m);
            }
        }
        assertThat(found).as(type + " with " + idField + " " + id + " in " + messages).hasSize(1);
        return found.get(0);
    }

    private static double emfSum(String output, String function, String metric) throws Exception {
        double total = 0;
        for (String line : Emf.lines(output)) {
            JsonNode root = JSON.readTree(line);
            if (function.equals(root.path("Function").asText()) && root.has(metric)) {
                total += root.get(metric).asDouble();
            }
        }
        return total;
    }
}
