package io.cohortsync.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.Shards;
import io.cohortsync.infra.probe.CracProbeHandler;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.LambdaExecutionEnvironment;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.RuntimeApiStandIn;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import org.crac.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each function's `sam build` package ({@link SamPackages}: the Makefile target's output) run in a fresh
 * JVM by the real Lambda runtime interface client (aws-lambda-java-runtime-interface-client, the client
 * AWS ships in its Java base images), against testkit's {@link RuntimeApiStandIn}, one moto for the whole
 * class and the Segment stand-in. The handler string is template.yaml's, and so is the environment: every
 * variable the template gives the function, references resolved to this test's moto resources (plus the
 * emulator's endpoint, which only AWS_ENDPOINT_URL names). So the runtime resolves the handler, loads it
 * from the package layout through its own class loader, (de)serializes with its own copy of the
 * serializer, feeds the deadline, reports init errors, runs SnapStart's restore flow and hands out
 * container credentials, as on Lambda, instead of our own code calling the handler.
 * <p>Every environment is closed (its JVM and stand-in stopped by their own handles) when its test ends.
 */
@ExtendWith(MotoExtension.class)
class RuntimeClientIT {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STACK = "cohort-sync-ric";
    private static final Duration WEBHOOK_TIMEOUT = Duration.ofSeconds(TEMPLATE.timeoutSeconds("WebhookFunction"));
    private static final Path LOGS = Path.of("target", "runtime-client");
    /** What a function reports for an event it cannot read (io.cohortsync.lambda.LambdaEvents). */
    private static final String UNREADABLE = "io.cohortsync.lambda.UnreadableEventException";
    private static SegmentStandIn segment;

    @BeforeAll
    static void segment() {
        segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
    }

    @AfterAll
    static void stopSegment() {
        segment.close();
    }

    @Test
    void webhook_answersSeveralInvocationsInOneJvm_andReportsAnInvalidEventAndAHandlerErrorWithoutDying(AwsStack stack,
                                                                                                       TestInfo test) {
        try (LambdaExecutionEnvironment fn = start("WebhookFunction", stack, test, Map.of())) {
            // when: a change, a status read, an event the runtime cannot read, one the handler fails on, a replay
            RuntimeApiStandIn.Outcome add = fn.invoke(fixture("webhook-add-members.json"), WEBHOOK_TIMEOUT);
            RuntimeApiStandIn.Outcome status = fn.invoke(statusEvent(), WEBHOOK_TIMEOUT);
            RuntimeApiStandIn.Outcome invalid = fn.invoke("{\"version\":\"2.0\",\"rawPath\":", WEBHOOK_TIMEOUT);
            RuntimeApiStandIn.Outcome handlerError = fn.invoke("null", WEBHOOK_TIMEOUT);
            RuntimeApiStandIn.Outcome replay = fn.invoke(fixture("webhook-add-members.json"), WEBHOOK_TIMEOUT);

            // then: the change went through the runtime's deserializer into our handler, and its response back
            assertThat(add.error()).as(add.bodyText()).isFalse();
            assertThat(add.json().path("statusCode").asInt()).isEqualTo(200);
            assertThat(add.json().path("body").asText()).contains("\"status\":\"success\"");
            assertThat(membersStored(stack, new CohortRef("2195193", "1457721"))).containsExactly("u-1007", "u-1008");
            assertThat(SqsEvents.awaitMessages(stack.sqs, stack.queueUrl, 1, Duration.ofSeconds(10))).isNotEmpty();
            // and: the status read found the history entry the change wrote
            assertThat(status.json().path("statusCode").asInt()).as(status.bodyText()).isEqualTo(200);
            assertThat(json(status.json().path("body").asText()).path("history").size()).isPositive();
            // and: an event that is no JSON, and a null event, are our stream entry point's errors (it reads events
            // with our Jackson, not the runtime's serializer), each reported on /error without quoting the event
            assertThat(invalid.error()).isTrue();
            assertThat(invalid.errorType()).as("the runtime's category for a handler's exception")
                    .isEqualTo("Runtime.UserException");
            assertThat(invalid.json().path("errorType").asText()).isEqualTo(UNREADABLE);
            assertThat(invalid.json().path("errorMessage").asText()).contains("not JSON").doesNotContain("rawPath");
            assertThat(handlerError.error()).isTrue();
            assertThat(handlerError.json().path("errorType").asText()).isEqualTo(UNREADABLE);
            assertThat(handlerError.json().path("errorMessage").asText()).contains("not an API Gateway HTTP event");
            assertThat(handlerError.json().path("stackTrace").toString())
                    .contains("io.cohortsync.webhook.WebhookStreamHandler");
            // and: the same JVM answered the replay after both errors (warm), finding nothing to change
            assertThat(replay.json().path("statusCode").asInt()).as(replay.bodyText()).isEqualTo(200);
            assertThat(fn.isAlive()).isTrue();
            assertThat(nextCalls(fn, 6)).as("one JVM asked for every invocation, and for the next").isEqualTo(6);
            // and: each answer went to its own request id, with the deadline the template's timeout gives
            assertThat(Set.of(add.requestId(), status.requestId(), invalid.requestId(), handlerError.requestId(),
                    replay.requestId())).hasSize(5);
            assertThat(add.deadlineMs() - System.currentTimeMillis()).isLessThan(WEBHOOK_TIMEOUT.toMillis());
            assertThat(fn.api().initErrors()).isEmpty();
        }
    }

    @Test
    void sender_sendsCurrentDeltasToSegment_thenAnswersAReplayAndAHandlerErrorInTheSameJvm(AwsStack stack, TestInfo test)
            throws IOException {
        // given: the changes the fixture's deltas announce are the table's (versions 1 and 2)
        String event = ApiGatewayEvents.Fixtures.read("sqs-deltas.json");
        int identifies = commitDeltasOf(stack, event);
        int acceptedBefore = segment.acceptedIdentifies().size();

        try (LambdaExecutionEnvironment fn = start("SenderFunction", stack, test,
                Map.of("SEGMENT_ENDPOINT", segment.baseUrl().toString()))) {
            Duration timeout = Duration.ofSeconds(TEMPLATE.timeoutSeconds("SenderFunction"));

            // when
            RuntimeApiStandIn.Outcome first = fn.invoke(event, timeout);
            RuntimeApiStandIn.Outcome again = fn.invoke(event, timeout);
            RuntimeApiStandIn.Outcome handlerError = fn.invoke("null", timeout);

            // then: every record completed, and Segment got each identify once (the replay's copies are duplicates)
            assertThat(first.error()).as(first.bodyText()).isFalse();
            assertThat(first.json().path("batchItemFailures").size()).as(first.bodyText()).isZero();
            assertThat(again.json().path("batchItemFailures").size()).as(again.bodyText()).isZero();
            assertThat(segment.acceptedIdentifies().size() - acceptedBefore).isEqualTo(identifies);
            assertThat(handlerError.error()).isTrue();
            assertThat(handlerError.json().path("errorType").asText()).isEqualTo(UNREADABLE);
            assertThat(fn.isAlive()).isTrue();
            assertThat(nextCalls(fn, 4)).isEqualTo(4);
        }
    }

    @Test
    void reconciler_stopsAtTheDeadlineTheRuntimeFeedsIt_andItsContinuationFinishesInTheSameJvm(AwsStack stack, TestInfo test) {
        // given: a cohort renamed to name version 2 whose 20 shard-0 members were announced under version 1, and
        // chunks of 5 (the template's 1,000 would finish in one chunk), so the job takes 4 chunks
        CohortRef cohort = new CohortRef("2195193", "ric-rename");
        List<String> members = seedRenamedCohort(stack, cohort, 20);
        String job = ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.RENAME, cohort, 2, null, 0,
                Instant.now().minusSeconds(1)));
        stack.sqs.sendMessage(b -> b.queueUrl(stack.reconcileQueueUrl).messageBody(job));
        List<Message> jobMessage = SqsEvents.awaitMessages(stack.sqs, stack.reconcileQueueUrl, 1, Duration.ofSeconds(10));

        try (LambdaExecutionEnvironment fn = start("ReconcilerFunction", stack, test, Map.of("RECONCILE_CHUNK", "5"))) {
            // when: invoked with 20 s left, which is the reconciler's whole deadline margin: it does one chunk
            // and queues its continuation instead of running into Lambda's timeout
            RuntimeApiStandIn.Outcome shortOne = fn.invoke(SqsEvents.eventJson(stack.reconcileQueueUrl, jobMessage),
                    Duration.ofSeconds(20));
            List<Message> continuation = SqsEvents.awaitMessages(stack.sqs, stack.reconcileQueueUrl, 1,
                    Duration.ofSeconds(10));
            // and: the continuation, with the template's 120 s
            RuntimeApiStandIn.Outcome full = fn.invoke(SqsEvents.eventJson(stack.reconcileQueueUrl, continuation),
                    Duration.ofSeconds(TEMPLATE.timeoutSeconds("ReconcilerFunction")));
            RuntimeApiStandIn.Outcome handlerError = fn.invoke("null", Duration.ofSeconds(20));

            // then: the deadline reached our code through the runtime's context
            assertThat(shortOne.json().path("batchItemFailures").size()).as(shortOne.bodyText()).isZero();
            assertThat(continuation).as("the continuation the 20 s invocation queued").hasSize(1);
            assertThat(full.json().path("batchItemFailures").size()).as(full.bodyText()).isZero();
            assertThat(SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 10)).as("nothing more to continue").isEmpty();
            // and: between them every member was re-announced once, under the new name
            List<Delta> deltas = deltas(stack, members.size());
            assertThat(deltas.stream().map(Delta::distinctId).distinct().sorted().toList())
                    .containsExactlyElementsOf(new TreeSet<>(members));
            assertThat(deltas).hasSize(members.size()).allMatch(d -> d.cohortName().equals("Renamed (ric)"));
            assertThat(fn.process().output()).contains("CONTINUED").contains("DONE");
            assertThat(handlerError.json().path("errorType").asText()).isEqualTo(UNREADABLE);
            assertThat(fn.isAlive()).isTrue();
        }
    }

    @Test
    void webhook_withoutARequiredVariable_reportsItsInitErrorToInitError_andExits(AwsStack stack, TestInfo test) {
        // given: the template's environment without TABLE_NAME
        Map<String, String> variables = environment("WebhookFunction", stack, Map.of());
        variables.remove("TABLE_NAME");
        LambdaRuntimeProcess.Spec spec = LambdaRuntimeProcess.Spec.fromTemplate(TEMPLATE, "WebhookFunction",
                SamPackages.get("WebhookFunction").root(), variables);

        try (LambdaExecutionEnvironment fn = LambdaExecutionEnvironment.start(spec, log(test, "WebhookFunction"))) {
            // when
            RuntimeApiStandIn.ReportedError error = fn.api().awaitInitError(Duration.ofSeconds(60));

            // then: the constructor's failure is the init error, reported before any invocation was asked for
            assertThat(error).as("an init error; output:\n%s", fn.process().outputTail(20)).isNotNull();
            assertThat(error.errorType()).isEqualTo("Runtime.BadFunctionCode");
            JsonNode body = json(error.bodyText());
            assertThat(body.path("errorMessage").asText()).contains("TABLE_NAME");
            assertThat(fn.process().awaitExit(Duration.ofSeconds(20))).as("the runtime exits").isNotNull().isNotZero();
            assertThat(fn.api().calls()).noneMatch(c -> c.path().endsWith("/invocation/next"));
        }
    }

    @Test
    void webhook_underSnapStart_restoresAndReadsAwsWithContainerCredentialsOnly(AwsStack stack, TestInfo test)
            throws IOException {
        // given: SnapStart's flavour: the restore flow, no access-key variables, the container-credentials endpoint
        LambdaRuntimeProcess.Spec spec = LambdaRuntimeProcess.Spec.fromTemplate(TEMPLATE, "WebhookFunction",
                SamPackages.get("WebhookFunction").root(), environment("WebhookFunction", stack, Map.of())).snapStart();

        try (LambdaExecutionEnvironment fn = LambdaExecutionEnvironment.start(spec, log(test, "WebhookFunction"))) {
            Map<String, String> seen = processEnvironment(fn.process().pid());
            assertThat(seen).doesNotContainKeys("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
                    .containsEntry("AWS_CONTAINER_CREDENTIALS_FULL_URI", fn.api().credentialsUri())
                    .containsEntry("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");

            // when
            RuntimeApiStandIn.Outcome add = fn.invoke(fixture("webhook-add-members.json"), WEBHOOK_TIMEOUT);

            // then: the runtime ran the restore flow, and our clients got their credentials from the endpoint
            assertThat(fn.api().restoreNextCalls()).isEqualTo(1);
            assertThat(fn.api().restoreErrors()).isEmpty();
            assertThat(fn.api().credentialRequests()).as("credential requests with the token").isPositive();
            assertThat(fn.api().refusedCredentialRequests()).isZero();
            // and: the calls signed with them succeeded: Secrets Manager (auth), DynamoDB and SQS
            assertThat(add.json().path("statusCode").asInt()).as(add.bodyText()).isEqualTo(200);
            assertThat(membersStored(stack, new CohortRef("2195193", "1457721"))).containsExactly("u-1007", "u-1008");
        }
    }

    @Test
    void restoreFlow_runsTheOrgCracHooksAPackageRegisters_underSnapStartOnly(TestInfo test) throws IOException {
        // given: a package of one handler that registers an org.crac Resource (as SnapStart priming does),
        // org.crac in its lib/
        Path root = probePackage(test);
        LambdaRuntimeProcess.Spec onDemand = new LambdaRuntimeProcess.Spec("CracProbe", root,
                CracProbeHandler.class.getName() + "::handleRequest", Map.of(), 512, LambdaRuntimeProcess.Init.ON_DEMAND,
                LambdaRuntimeProcess.Credentials.ACCESS_KEYS, "JSON", "INFO");

        // when
        String snapStartHooks;
        String onDemandHooks;
        int restores;
        try (LambdaExecutionEnvironment fn = LambdaExecutionEnvironment.start(onDemand.snapStart(), log(test, "snap-start"))) {
            snapStartHooks = fn.invoke("{}", Duration.ofSeconds(10)).bodyText();
            restores = fn.api().restoreNextCalls();
        }
        try (LambdaExecutionEnvironment fn = LambdaExecutionEnvironment.start(onDemand, log(test, "on-demand"))) {
            onDemandHooks = fn.invoke("{}", Duration.ofSeconds(10)).bodyText();
            assertThat(fn.api().restoreNextCalls()).isZero();
        }

        // then: the runtime client called beforeCheckpoint, asked for the restore, then called afterRestore
        assertThat(snapStartHooks).isEqualTo("\"beforeCheckpoint;afterRestore;\"");
        assertThat(restores).isEqualTo(1);
        // and: an on-demand init runs neither
        assertThat(onDemandHooks).isEqualTo("\"\"");
    }

    // ------------------------------------------------------------------ helpers

    /** CracProbeHandler's class at a package root of its own, and the org.crac jar in its lib/. */
    private static Path probePackage(TestInfo test) throws IOException {
        Path root = LOGS.resolve(test.getTestMethod().orElseThrow().getName() + "-package").toAbsolutePath();
        String classFile = CracProbeHandler.class.getName().replace('.', '/') + ".class";
        Path target = root.resolve(classFile);
        Files.createDirectories(target.getParent());
        try (var in = CracProbeHandler.class.getClassLoader().getResourceAsStream(classFile)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.createDirectories(root.resolve("lib"));
        try {
            Path crac = Path.of(Resource.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Files.copy(crac, root.resolve("lib").resolve(crac.getFileName().toString()),
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return root;
    }

    private static LambdaExecutionEnvironment start(String functionId, AwsStack stack, TestInfo test,
                                                    Map<String, String> overrides) {
        LambdaRuntimeProcess.Spec spec = LambdaRuntimeProcess.Spec.fromTemplate(TEMPLATE, functionId,
                SamPackages.get(functionId).root(), environment(functionId, stack, overrides));
        return LambdaExecutionEnvironment.start(spec, log(test, functionId));
    }

    /** The template's variables for the function on this stack, the emulator endpoint, and the test's overrides. */
    private static Map<String, String> environment(String functionId, AwsStack stack, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(TEMPLATE.resolvedEnvironment(functionId, stack.templateResources(), STACK));
        env.put("AWS_ENDPOINT_URL", System.getProperty("aws.endpointUrl", System.getenv("AWS_ENDPOINT_URL")));
        env.putAll(overrides);
        return env;
    }

    private static Path log(TestInfo test, String functionId) {
        return LOGS.resolve(test.getTestMethod().orElseThrow().getName() + "-" + functionId + ".log");
    }

    private static String fixture(String name) {
        return ApiGatewayEvents.Fixtures.read(name);
    }

    /**
     * GET /next calls so far, once {@code expected} arrived or 10 s passed: the runtime asks for the next
     * invocation just after it posted the last answer.
     */
    private static long nextCalls(LambdaExecutionEnvironment fn, int expected) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (true) {
            long n = fn.api().calls().stream().filter(c -> c.path().endsWith("/invocation/next")).count();
            if (n >= expected || Instant.now().isAfter(deadline)) {
                return n;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return n;
            }
        }
    }

    /** GET /mixpanel/status for the fixture's cohort, with the fixture's credentials, as API Gateway sends it. */
    private static String statusEvent() {
        ObjectNode e = (ObjectNode) json(fixture("webhook-add-members.json"));
        e.put("routeKey", "GET /mixpanel/status");
        e.put("rawPath", "/mixpanel/status");
        e.put("rawQueryString", "project=2195193&cohort=1457721");
        e.putObject("queryStringParameters").put("project", "2195193").put("cohort", "1457721");
        ObjectNode ctx = (ObjectNode) e.path("requestContext");
        ctx.put("routeKey", "GET /mixpanel/status");
        ((ObjectNode) ctx.path("http")).put("method", "GET").put("path", "/mixpanel/status");
        e.remove("body");
        return e.toString();
    }

    private static List<String> membersStored(AwsStack stack, CohortRef cohort) {
        List<String> ids = new ArrayList<>();
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            String pk = Keys.membershipPk(cohort, shard);
            stack.dynamo.query(b -> b.tableName(stack.tableName).keyConditionExpression("pk = :pk")
                            .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(pk))))
                    .items().stream().filter(i -> i.get("m").bool()).forEach(i -> ids.add(i.get("sk").s()));
        }
        return ids.stream().sorted().toList();
    }

    /** Commits the changes the SQS event's deltas announce, so the sender finds them current; returns their count. */
    private static int commitDeltasOf(AwsStack stack, String sqsEvent) throws IOException {
        DynamoMembershipStore store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, Duration.ZERO,
                Clock.systemUTC());
        int changes = 0;
        for (JsonNode r : JSON.readTree(sqsEvent).path("Records")) {
            for (Delta d : DeltaCodec.decode(r.path("body").asText())) {
                Membership before = Membership.ABSENT;
                if (d.version() == 2) {
                    before = new Membership(!d.member(), 1);
                    store.commit(d.cohort(), List.of(new Change(d.distinctId(), Membership.ABSENT, before)));
                }
                store.commit(d.cohort(), List.of(new Change(d.distinctId(), before, d.membership())));
                changes++;
            }
        }
        return changes;
    }

    /** A cohort at name version 2 whose {@code count} members (all in shard 0) were announced under version 1. */
    private static List<String> seedRenamedCohort(AwsStack stack, CohortRef cohort, int count) {
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72),
                Clock.systemUTC());
        cohorts.create(cohort, CohortState.first("Before (ric)"));
        List<String> members = new ArrayList<>();
        for (int i = 0; members.size() < count; i++) {
            String id = "ric" + i + "@example.com";
            if (Shards.of(id) == 0) {
                members.add(id);
                stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(Map.of(
                        Keys.PK, AttributeValue.fromS(Keys.membershipPk(cohort, id)), Keys.SK, AttributeValue.fromS(id),
                        "m", AttributeValue.fromBool(true), "v", AttributeValue.fromN("1"), "n", AttributeValue.fromN("1"))));
            }
        }
        CohortState current = cohorts.load(cohort).orElseThrow();
        cohorts.rename(cohort, current, current.renamed("Renamed (ric)"));
        return members;
    }

    /** The deltas on the delta queue (each change once: a rename re-announcement carries the new name). */
    private static List<Delta> deltas(AwsStack stack, int atLeast) {
        List<Delta> all = new ArrayList<>();
        // Delayed by DELTA_DELAY_SECONDS (5 in the template), as every delta is.
        for (Message m : SqsEvents.awaitMessages(stack.sqs, stack.queueUrl, 1, Duration.ofSeconds(20))) {
            all.addAll(DeltaCodec.decode(m.body()));
        }
        Instant deadline = Instant.now().plusSeconds(20);
        while (all.size() < atLeast && Instant.now().isBefore(deadline)) {
            for (Message m : SqsEvents.awaitMessages(stack.sqs, stack.queueUrl, 1, Duration.ofSeconds(2))) {
                all.addAll(DeltaCodec.decode(m.body()));
            }
        }
        return all;
    }

    /** What the process was started with (Linux's /proc/&lt;pid&gt;/environ). */
    private static Map<String, String> processEnvironment(long pid) throws IOException {
        Map<String, String> env = new HashMap<>();
        for (String entry : new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")),
                StandardCharsets.UTF_8).split("\0")) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        return env;
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
