package io.cohortsync.infra;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.webhook.WebhookHandler;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The three real handlers, built from the environment as Lambda builds them, on one moto stack, taken
 * through every kind of work the template has alarms, widgets and permissions for: a cohort stored in
 * the old layout (webhook 503 + MIGRATE job), enters, a full sync that exits a member (EXIT_COUNT, then
 * EXIT_APPLY), a member marked while that exit pass is pending, a rename (RENAME jobs), a 401, a 400, a
 * status read; then the reconcile queue and the delta queue drained the way their event source
 * mappings would (the reconciler one job per invocation, the sender 10 records). Records what the
 * functions printed (logs and EMF) and which AWS operations each function called.
 */
final class HandlersOnMoto {
    static final String COHORT = "obs";
    static final String NAME = "Observed";
    static final String NEW_NAME = "Observed (renamed)";
    static final String LEGACY_COHORT = "obs-legacy";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Far more than the scenario queues (16 shards x 2 exit phases + 16 renames + 1 migration). */
    private static final int MAX_RECONCILE_INVOCATIONS = 200;

    /**
     * @param output     everything the handlers printed: JSON log lines and EMF lines
     * @param operations {@code Service.Operation}s each function called (WebhookFunction, SenderFunction,
     *                   ReconcilerFunction), as the SDK sent them
     * @param traits     the Segment profiles' final traits, by user id
     */
    record Run(String output, Map<String, Set<String>> operations, Map<String, Map<String, JsonNode>> traits) {
    }

    private final AwsStack stack;
    private final Map<String, Set<String>> operations = new LinkedHashMap<>();

    private HandlersOnMoto(AwsStack stack) {
        this.stack = stack;
    }

    static Run run(AwsStack stack) throws Exception {
        return new HandlersOnMoto(stack).run();
    }

    private Run run() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("DELTA_DELAY_SECONDS", "0");
        Map<String, Map<String, JsonNode>> traits;
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            WebhookHandler webhook = WebhookHandler.forEnvironment(env);
            SenderHandler sender = SenderHandler.forEnvironment(env);
            ReconcilerHandler reconciler = ReconcilerHandler.forEnvironment(env);

            // a cohort an earlier version stored in one partition: the webhook queues its migration, answers 503
            storeInOldLayout(LEGACY_COHORT, "o-legacy@example.com");
            assertThat(post(webhook, Exports.add(LEGACY_COHORT, "Legacy", Exports.users("o", 0, 1)))).isEqualTo(503);
            // enters, then a one-page full sync without o2: its exit pass is queued to the reconciler
            assertThat(post(webhook, Exports.add(COHORT, NAME, Exports.users("o", 0, 3)))).isEqualTo(200);
            assertThat(post(webhook, Exports.members(COHORT, NAME, null, 1, 1, Exports.users("o", 0, 2))))
                    .isEqualTo(200);
            // while that pass is pending, a listed member is marked (race rule); then a rename
            assertThat(post(webhook, Exports.add(COHORT, NAME, Exports.users("o", 0, 1)))).isEqualTo(200);
            assertThat(post(webhook, Exports.add(COHORT, NEW_NAME, Exports.users("o", 3, 1)))).isEqualTo(200);
            // the failure paths that flush metrics, and a status read
            assertThat(call("WebhookFunction", () -> webhook.handleRequest(ApiGatewayEvents.post("{}",
                    ApiGatewayEvents.basic("mixpanel", "nope")), null)).getStatusCode()).isEqualTo(401);
            assertThat(post(webhook, "not json")).isEqualTo(400);

            drainReconcileQueue(reconciler);
            // migrated: the old-layout cohort syncs again
            assertThat(post(webhook, Exports.add(LEGACY_COHORT, "Legacy", Exports.users("o", 0, 1)))).isEqualTo(200);
            assertThat(call("WebhookFunction", () -> webhook.handleRequest(statusRequest(COHORT), null))
                    .getStatusCode()).isEqualTo(200);
            drainDeltaQueue(sender);
            // the hourly schedule, with the very input the template gives it: the silence check
            SQSBatchResponse check = call("ReconcilerFunction", () -> reconciler.handleRequest(scheduledSilenceCheck(),
                    LambdaContexts.withRemaining("reconciler", Duration.ofSeconds(120))));
            assertThat(check.getBatchItemFailures()).as("silence check").isEmpty();
            traits = segment.finalTraits();
        } finally {
            System.setOut(original);
        }
        return new Run(captured.toString(StandardCharsets.UTF_8), operations, traits);
    }

    /**
     * The reconciler's {@code SilenceCheck} schedule event: its constant Input read from template.yaml and
     * deserialized by Lambda's own event serializer, as the Java runtime does for the handler's SQSEvent.
     */
    static SQSEvent scheduledSilenceCheck() {
        CfnTemplate template = CfnTemplate.load(Repo.path("template.yaml"));
        String input = template.resource("ReconcilerFunction").path("Properties").path("Events").path("SilenceCheck")
                .path("Properties").path("Input").asText();
        return LambdaEventSerializers.serializerFor(SQSEvent.class, HandlersOnMoto.class.getClassLoader())
                .fromJson(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
    }

    private int post(WebhookHandler webhook, String body) {
        return call("WebhookFunction", () -> webhook.handleRequest(ApiGatewayEvents.post(body), null)).getStatusCode();
    }

    /** Runs one invocation and files the AWS operations it sent under {@code functionId}. */
    private <T> T call(String functionId, Supplier<T> invocation) {
        AwsRequestCounter.reset();
        try {
            return invocation.get();
        } finally {
            operations.computeIfAbsent(functionId, f -> new TreeSet<>()).addAll(AwsRequestCounter.snapshot().keySet());
        }
    }

    /** The event source mapping: batch size 1, settle from the batch response, until nothing is visible. */
    private void drainReconcileQueue(ReconcilerHandler reconciler) {
        for (int invocations = 0; ; invocations++) {
            assertThat(invocations).as("reconcile invocations before the queue is empty")
                    .isLessThan(MAX_RECONCILE_INVOCATIONS);
            List<Message> messages = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 1);
            if (messages.isEmpty()) {
                return;
            }
            SQSBatchResponse response = call("ReconcilerFunction", () -> reconciler.handleRequest(
                    SqsEvents.event(stack.reconcileQueueUrl, messages),
                    LambdaContexts.withRemaining("reconciler", Duration.ofSeconds(120))));
            assertThat(response.getBatchItemFailures()).as("reconcile job failures").isEmpty();
            SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, messages, response);
        }
    }

    private void drainDeltaQueue(SenderHandler sender) {
        List<Message> messages;
        while (!(messages = SqsEvents.receive(stack.sqs, stack.queueUrl, 10)).isEmpty()) {
            List<Message> batch = messages;
            SQSBatchResponse response = call("SenderFunction", () -> sender.handleRequest(
                    SqsEvents.event(stack.queueUrl, batch), LambdaContexts.withRemaining("sender", Duration.ofSeconds(60))));
            assertThat(response.getBatchItemFailures()).as("sender batch item failures").isEmpty();
            SqsEvents.settle(stack.sqs, stack.queueUrl, batch, response);
        }
    }

    /** One member in the single {@code M#<project>#<cohort>} partition of earlier versions. */
    private void storeInOldLayout(String cohortId, String distinctId) {
        String pk = Keys.legacyMembershipPk(new CohortRef(Exports.PROJECT, cohortId));
        stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(Map.of(
                Keys.PK, AttributeValue.fromS(pk), Keys.SK, AttributeValue.fromS(distinctId),
                "m", AttributeValue.fromBool(true), "v", AttributeValue.fromN("1"))));
    }

    private static APIGatewayV2HTTPEvent statusRequest(String cohortId) {
        ObjectNode json = JSON.createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "GET /mixpanel/status");
        json.put("rawPath", "/mixpanel/status");
        json.put("rawQueryString", "project=" + Exports.PROJECT + "&cohort=" + cohortId);
        json.putObject("headers").put("authorization",
                ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD));
        json.putObject("queryStringParameters").put("project", Exports.PROJECT).put("cohort", cohortId);
        ObjectNode ctx = json.putObject("requestContext");
        ctx.put("requestId", "status-1");
        ctx.put("routeKey", "GET /mixpanel/status");
        ctx.putObject("http").put("method", "GET").put("path", "/mixpanel/status");
        json.put("isBase64Encoded", false);
        return ApiGatewayEvents.parse(json.toString());
    }

    /** The EMF values of {@code metric} with {@code Function = function}, summed over every line. */
    static double sum(Run run, String function, String metric) throws Exception {
        double total = 0;
        for (String line : Emf.lines(run.output())) {
            JsonNode root = JSON.readTree(line);
            if (function.equals(root.path("Function").asText()) && root.has(metric)) {
                total += root.get(metric).asDouble();
            }
        }
        return total;
    }

    /** Log lines (not EMF) of one function. */
    static List<JsonNode> logLines(Run run, String function) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : run.output().split("\n")) {
            String t = line.strip();
            if (t.startsWith("{") && !t.contains("\"_aws\"")) {
                JsonNode n = JSON.readTree(t);
                if (function.equals(n.path("function").asText())) {
                    lines.add(n);
                }
            }
        }
        return lines;
    }
}
