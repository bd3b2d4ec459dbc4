package io.cohortsync.infra;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Shards;
import io.cohortsync.reconcile.SilenceCheck;
import io.cohortsync.reconciler.ReconcilerConfig;
import io.cohortsync.segment.SegmentDestinations;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.Infrastructure;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * template.yaml against the code it deploys and against the rules we hold it to (least privilege,
 * partial batch failures, queue timing). Reads the file only; no AWS, no SAM CLI.
 */
class TemplateTest {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    /** Set by Lambda itself (or by the SDK's own configuration); a template must not set them. */
    private static final Set<String> SET_BY_LAMBDA = Set.of("AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_EXECUTION_ENV", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_LAMBDA_RUNTIME_API", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS",
            "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "_X_AMZN_TRACE_ID", "TZ");

    /** Read by the code but deliberately left unset in the deployed stack, each with its reason. */
    private static final Map<String, String> DELIBERATELY_UNSET = Map.of(
            "SEGMENT_ENDPOINT", "overrides the Segment base URL for local runs and tests only",
            "AWS_ENDPOINT_URL", "points the SDK at an emulator for local runs and tests only");

    /** Set by the template for the JVM, not read by our code. */
    private static final Set<String> FOR_THE_RUNTIME = Set.of("JAVA_TOOL_OPTIONS");

    /** X-Ray's write actions have no resource ARN, so AWS requires Resource '*' for them. */
    private static final Set<String> ACTIONS_WITHOUT_RESOURCE = Set.of("xray:PutTraceSegments",
            "xray:PutTelemetryRecords");

    static Stream<String> functionIds() {
        return TEMPLATE.functions().keySet().stream();
    }

    @Test
    void functions_areTheWebhookTheSenderAndTheReconciler() {
        assertThat(TEMPLATE.functions()).containsOnlyKeys("WebhookFunction", "SenderFunction", "ReconcilerFunction");
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void environment_setsEveryVariableTheCodeReads(String functionId) {
        // given
        String module = moduleOf(functionId);
        Set<String> read = new TreeSet<>(Repo.environmentReadBy(module));
        read.addAll(Repo.environmentReadBy("shared")); // shared code runs in every function
        // when
        Set<String> missing = new TreeSet<>(read);
        missing.removeAll(TEMPLATE.environment(functionId).keySet());
        missing.removeAll(SET_BY_LAMBDA);
        missing.removeAll(DELIBERATELY_UNSET.keySet());
        // then
        assertThat(missing).as("variables %s reads but template.yaml does not set on %s", module, functionId)
                .isEmpty();
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void environment_setsNoVariableTheCodeDoesNotRead(String functionId) {
        String module = moduleOf(functionId);
        Set<String> read = new TreeSet<>(Repo.environmentReadBy(module));
        read.addAll(Repo.environmentReadBy("shared"));

        Set<String> unread = new TreeSet<>(TEMPLATE.environment(functionId).keySet());
        unread.removeAll(read);
        unread.removeAll(FOR_THE_RUNTIME);

        assertThat(unread).as("variables set on %s that no code in %s or shared reads (a typo?)", functionId, module)
                .isEmpty();
    }

    @Test
    void environmentScan_findsTheWebhookAndReconcilerConfiguration() {
        // Guards the scanner itself: if it stopped matching, the checks above would pass vacuously.
        assertThat(Repo.environmentReadBy("functions/webhook"))
                .contains("TABLE_NAME", "DELTA_QUEUE_URL", "RECONCILE_QUEUE_URL", "WEBHOOK_SECRET_ID", "EXITED_TTL_DAYS");
        assertThat(Repo.environmentReadBy("functions/reconciler"))
                .contains("TABLE_NAME", "RECONCILE_QUEUE_URL", "MASS_EXIT_MAX_SHARE", "RECONCILE_PASS_IDS",
                        "SESSION_TTL_HOURS", "EXITED_TTL_DAYS");
        assertThat(Repo.environmentReadBy("shared")).contains("AWS_REGION");
    }

    @Test
    void massExitGuard_isConfiguredOnTheReconciler_whichDecidesHolds() {
        // The reconciler counts a full sync's exits and holds it; the webhook no longer reads the policy.
        assertThat(Repo.environmentReadBy("functions/webhook")).doesNotContain("MASS_EXIT_MAX_SHARE",
                "MASS_EXIT_MIN_MEMBERS");
        assertThat(TEMPLATE.environment("ReconcilerFunction").get("MASS_EXIT_MAX_SHARE"))
                .isEqualTo(ref("MassExitMaxShare"));
        assertThat(TEMPLATE.environment("ReconcilerFunction").get("MASS_EXIT_MIN_MEMBERS"))
                .isEqualTo(ref("MassExitMinMembers"));
    }

    @Test
    void settingsTheWebhookAndTheReconcilerShare_haveOneValue() {
        // Page receipts are written by the webhook and read by the reconciler; exits of both expire alike;
        // both queue deltas before their commit.
        Map<String, JsonNode> webhook = TEMPLATE.environment("WebhookFunction");
        Map<String, JsonNode> reconciler = TEMPLATE.environment("ReconcilerFunction");
        for (String shared : List.of("TABLE_NAME", "DELTA_QUEUE_URL", "RECONCILE_QUEUE_URL", "SESSION_TTL_HOURS",
                "EXITED_TTL_DAYS", "HISTORY_TTL_DAYS", "DELTA_DELAY_SECONDS", "COMMIT_CONCURRENCY")) {
            assertThat(reconciler.get(shared)).as(shared).isNotNull().isEqualTo(webhook.get(shared));
        }
        assertThat(webhook.get("EXITED_TTL_DAYS")).isEqualTo(ref("ExitedMemberRetentionDays"));
    }

    @Test
    void exitedMemberRetention_outlastsEveryDeadLetterQueue_orIsForEver() {
        // given
        JsonNode parameter = TEMPLATE.root().path("Parameters").path("ExitedMemberRetentionDays");
        Pattern allowed = Pattern.compile(parameter.path("AllowedPattern").asText());
        int longestDlqDays = TEMPLATE.resourcesOfType("AWS::SQS::Queue").entrySet().stream()
                .filter(q -> q.getKey().contains("DeadLetter") || q.getKey().endsWith("DLQ"))
                .mapToInt(q -> q.getValue().path("Properties").path("MessageRetentionPeriod").asInt() / 86_400)
                .max().orElseThrow();
        // then: the default and every value the parameter accepts keep an exited member longer than a DLQ
        // keeps a delta that could meet it, or for ever (0)
        assertThat(longestDlqDays).isEqualTo(14);
        assertThat(Integer.parseInt(parameter.path("Default").asText())).isGreaterThan(longestDlqDays);
        for (int days = 0; days <= 400; days++) {
            boolean accepted = allowed.matcher(Integer.toString(days)).matches();
            assertThat(accepted).as("ExitedMemberRetentionDays=%d accepted", days)
                    .isEqualTo(days == 0 || days > longestDlqDays);
        }
        assertThat(allowed.matcher("030").matches()).as("leading zero").isFalse();
        assertThat(allowed.matcher("-1").matches()).isFalse();
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void handler_isAPublicStreamHandlerWithANoArgConstructor(String functionId)
            throws Exception {
        // given
        String handler = TEMPLATE.functionProperty(functionId, "Handler").asText();
        String module = Repo.moduleOf(handler);
        String className = handler.substring(0, handler.indexOf("::"));
        String methodName = handler.substring(handler.indexOf("::") + 2);
        // then: the source is in the module the Makefile packages for this function ...
        assertThat(Repo.path(module).resolve("src/main/java/" + className.replace('.', '/') + ".java"))
                .as("source of %s's handler", functionId).isRegularFile();
        // ... and the compiled class (on this module's test classpath) is what the runtime needs
        Class<?> type = Class.forName(className, false, getClass().getClassLoader());
        assertThat(Modifier.isPublic(type.getModifiers())).as("%s is public", className).isTrue();
        assertThat(type.getConstructor()).as("public no-arg constructor of %s", className).isNotNull();
        // ... a stream handler (README "Cold start": the event is read with our Jackson, not the runtime's serializer)
        assertThat(type.getInterfaces()).extracting(Class::getName)
                .as("%s implements RequestStreamHandler", className)
                .contains("com.amazonaws.services.lambda.runtime.RequestStreamHandler");
        List<Method> methods = Stream.of(type.getMethods())
                .filter(m -> m.getName().equals(methodName) && m.getParameterCount() == 3 && !m.isBridge())
                .toList();
        assertThat(methods).as("public %s(InputStream, OutputStream, Context) on %s", methodName, className).hasSize(1);
        assertThat(Stream.of(methods.get(0).getParameterTypes()).map(Class::getName)).containsExactly(
                "java.io.InputStream", "java.io.OutputStream", "com.amazonaws.services.lambda.runtime.Context");
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void function_isBuiltByARootMakefileTarget(String functionId) throws IOException {
        JsonNode function = TEMPLATE.resource(functionId);
        assertThat(function.path("Metadata").path("BuildMethod").asText()).isEqualTo("makefile");
        assertThat(TEMPLATE.functionProperty(functionId, "CodeUri").asText())
                .as("CodeUri . makes sam build use the root Makefile").isEqualTo(".");
        assertThat(Files.readAllLines(Repo.path("Makefile")))
                .as("Makefile target sam build calls").contains("build-" + functionId + ":");
    }

    @Test
    void sqsEvents_reportBatchItemFailures() {
        List<String> checked = new ArrayList<>();
        forEachSqsEvent((functionId, event) -> {
            assertThat(event.path("Properties").path("FunctionResponseTypes"))
                    .as("%s's SQS event returns partial batch failures", functionId)
                    .extracting(JsonNode::asText).contains("ReportBatchItemFailures");
            checked.add(functionId);
        });
        assertThat(checked).contains("SenderFunction", "ReconcilerFunction");
    }

    @Test
    void sqsEvents_queueVisibilityTimeoutIsAtLeastSixTimesTheConsumersTimeout() {
        forEachSqsEvent((functionId, event) -> {
            String queueId = CfnTemplate.referencedId(event.path("Properties").get("Queue"));
            assertThat(queueId).as("%s's SQS event names a queue of this stack", functionId).isNotNull();
            JsonNode visibility = TEMPLATE.resource(queueId).path("Properties").get("VisibilityTimeout");
            int visibilitySeconds = visibility == null ? 30 : visibility.asInt(); // SQS default 30 s
            assertThat(visibilitySeconds).as("%s visibility timeout vs 6 x %s timeout", queueId, functionId)
                    .isGreaterThanOrEqualTo(6 * TEMPLATE.timeoutSeconds(functionId));
        });
    }

    @Test
    void iamStatements_grantNoWildcardAction() {
        forEachAllowStatement((where, statement) -> {
            assertThat(statement.has("NotAction")).as("%s uses NotAction", where).isFalse();
            assertThat(strings(statement.get("Action")))
                    .as("%s: every action is named in full", where)
                    .isNotEmpty()
                    .noneMatch(action -> action.contains("*"));
        });
    }

    @Test
    void iamStatements_useResourceStarOnlyForXRay() {
        forEachAllowStatement((where, statement) -> {
            assertThat(statement.has("NotResource")).as("%s uses NotResource", where).isFalse();
            if (statement.has("Resource") && strings(statement.get("Resource")).contains("*")) {
                assertThat(strings(statement.get("Action"))).as("%s: Resource '*' is for X-Ray's writes only", where)
                        .isSubsetOf(ACTIONS_WITHOUT_RESOURCE);
            }
        });
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void function_usesItsOwnExplicitRole(String functionId) {
        // A SAM-generated role also attaches AWSLambdaBasicExecutionRole (logs on any log group), and
        // policy templates or managed policies hide their statements from the checks above.
        JsonNode properties = TEMPLATE.resource(functionId).path("Properties");
        assertThat(CfnTemplate.referencedId(properties.get("Role"))).as("%s Role", functionId).isNotNull();
        assertThat(properties.has("Policies")).as("%s Policies (unused with an explicit Role)", functionId).isFalse();
        assertThat(TEMPLATE.root().path("Globals").path("Function").has("Policies")).isFalse();
    }

    @Test
    void deltaQueue_matchesWhatTheTestsProvision() {
        JsonNode queue = TEMPLATE.resource("DeltaQueue").path("Properties");
        JsonNode dlq = TEMPLATE.resource("DeltaDeadLetterQueue").path("Properties");

        assertThat(TEMPLATE.timeoutSeconds("SenderFunction")).isEqualTo(Infrastructure.SENDER_TIMEOUT_SECONDS);
        assertThat(queue.path("VisibilityTimeout").asInt()).isEqualTo(Infrastructure.VISIBILITY_TIMEOUT_SECONDS);
        assertThat(CfnTemplate.referencedId(queue.path("RedrivePolicy").get("deadLetterTargetArn")))
                .isEqualTo("DeltaDeadLetterQueue");
        assertThat(queue.path("RedrivePolicy").path("maxReceiveCount").asInt())
                .isEqualTo(Infrastructure.MAX_RECEIVE_COUNT)
                .as("the sender's MAX_RECEIVE_COUNT must agree with the redrive policy")
                .isEqualTo(TEMPLATE.environment("SenderFunction").get("MAX_RECEIVE_COUNT").asInt());
        assertThat(dlq.path("MessageRetentionPeriod").asInt()).isEqualTo(14 * 24 * 3600)
                .isGreaterThan(queue.path("MessageRetentionPeriod").asInt(345_600));
        assertThat(queue.path("SqsManagedSseEnabled").asBoolean()).isTrue();
        assertThat(dlq.path("SqsManagedSseEnabled").asBoolean()).isTrue();
    }

    @Test
    void reconcileQueue_matchesWhatTheTestsProvision() {
        JsonNode queue = TEMPLATE.resource("ReconcileQueue").path("Properties");
        JsonNode dlq = TEMPLATE.resource("ReconcileDLQ").path("Properties");

        assertThat(TEMPLATE.timeoutSeconds("ReconcilerFunction")).isEqualTo(Infrastructure.RECONCILER_TIMEOUT_SECONDS);
        assertThat(queue.path("VisibilityTimeout").asInt())
                .isEqualTo(Infrastructure.RECONCILE_VISIBILITY_TIMEOUT_SECONDS)
                .isGreaterThanOrEqualTo(6 * TEMPLATE.timeoutSeconds("ReconcilerFunction"));
        assertThat(CfnTemplate.referencedId(queue.path("RedrivePolicy").get("deadLetterTargetArn")))
                .isEqualTo("ReconcileDLQ");
        assertThat(queue.path("RedrivePolicy").path("maxReceiveCount").asInt()).isEqualTo(Infrastructure.MAX_RECEIVE_COUNT);
        assertThat(dlq.path("MessageRetentionPeriod").asInt()).isEqualTo(14 * 24 * 3600)
                .isGreaterThan(queue.path("MessageRetentionPeriod").asInt(345_600));
        assertThat(queue.path("SqsManagedSseEnabled").asBoolean()).isTrue();
        assertThat(dlq.path("SqsManagedSseEnabled").asBoolean()).isTrue();
    }

    @Test
    void reconcilerFunction_runsOneJobPerInvocationWithinItsDeadline() {
        JsonNode jobs = TEMPLATE.resource("ReconcilerFunction").path("Properties").path("Events").path("Jobs")
                .path("Properties");

        assertThat(CfnTemplate.referencedId(jobs.get("Queue"))).isEqualTo("ReconcileQueue");
        assertThat(jobs.path("BatchSize").asInt()).as("a job runs for minutes: one per invocation").isEqualTo(1);
        assertThat(jobs.path("ScalingConfig").get("MaximumConcurrency")).isEqualTo(ref("ReconcilerMaxConcurrency"));
        JsonNode concurrency = TEMPLATE.root().path("Parameters").path("ReconcilerMaxConcurrency");
        assertThat(concurrency.path("Default").asInt()).as("one instance per shard").isEqualTo(Shards.COUNT);
        assertThat(concurrency.path("MinValue").asInt()).as("the lowest MaximumConcurrency SQS accepts").isEqualTo(2);
        // the handler keeps this margin back for its last chunk and its continuation
        assertThat(TEMPLATE.timeoutSeconds("ReconcilerFunction"))
                .isGreaterThan(2 * (int) ReconcilerConfig.DEFAULT_DEADLINE_MARGIN.toSeconds());
    }

    @Test
    void outputs_nameTheQueuesTheOperatorToolsLookUp() {
        JsonNode outputs = TEMPLATE.root().path("Outputs");
        Map<String, String> expected = Map.of("DeltaQueueUrl", "DeltaQueue", "DeadLetterQueueUrl", "DeltaDeadLetterQueue",
                "ReconcileQueueUrl", "ReconcileQueue", "ReconcileDlqUrl", "ReconcileDLQ", "StateTableName", "StateTable");
        expected.forEach((output, resource) -> assertThat(outputs.path(output).get("Value"))
                .as("output %s", output).isEqualTo(ref(resource)));
    }

    @ParameterizedTest
    @MethodSource("functionIds")
    void iamStatements_nameOnlyThisStacksResources_exceptXRay(String functionId) {
        // given
        String roleId = CfnTemplate.referencedId(TEMPLATE.functionProperty(functionId, "Role"));
        List<JsonNode> statements = new ArrayList<>();
        TEMPLATE.resource(roleId).path("Properties").path("Policies")
                .forEach(p -> p.path("PolicyDocument").path("Statement").forEach(statements::add));
        assertThat(statements).as("%s statements", roleId).isNotEmpty();
        // then: every resource is a !Ref / !GetAtt of a resource in this template
        for (JsonNode statement : statements) {
            String where = roleId + " " + statement.path("Sid").asText();
            JsonNode resource = statement.get("Resource");
            for (JsonNode r : resource.isArray() ? resource : List.of(resource)) {
                if (r.isTextual() && r.asText().equals("*")) {
                    assertThat(strings(statement.get("Action"))).as(where).isSubsetOf(ACTIONS_WITHOUT_RESOURCE);
                    continue;
                }
                String id = CfnTemplate.referencedId(r);
                assertThat(id).as("%s: resource %s is one of this stack's", where, r).isNotNull();
                assertThat(TEMPLATE.resources().has(id)).as("%s: %s is a resource of this template", where, id).isTrue();
            }
        }
    }

    @Test
    void stateTable_matchesWhatTheTestsProvision() {
        JsonNode table = TEMPLATE.resource("StateTable").path("Properties");

        assertThat(table.path("BillingMode").asText()).isEqualTo("PAY_PER_REQUEST");
        assertThat(table.path("KeySchema").toString())
                .isEqualTo("[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}]");
        assertThat(table.path("AttributeDefinitions").toString())
                .isEqualTo("[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\",\"AttributeType\":\"S\"}]");
        assertThat(table.path("TimeToLiveSpecification").path("AttributeName").asText()).isEqualTo("expiresAt");
        assertThat(table.path("TimeToLiveSpecification").path("Enabled").asBoolean()).isTrue();
        assertThat(table.path("PointInTimeRecoverySpecification").path("PointInTimeRecoveryEnabled").asBoolean())
                .isTrue();
    }

    @Test
    void stateTable_isRetainedWhenTheStackIsDeletedOrTheTableReplaced() {
        // Losing the table means a full sync of every cohort and, meanwhile, exits nobody sends: keep it.
        JsonNode table = TEMPLATE.resource("StateTable");
        assertThat(table.path("DeletionPolicy").asText()).isEqualTo("Retain");
        assertThat(table.path("UpdateReplacePolicy").asText()).isEqualTo("Retain");
    }

    @Test
    void statefulResources_sayWhatHappensToThemOnDeleteAndReplace() {
        // CloudFormation deletes by default; each stateful resource states its policy, decided one by one
        // (README "Removing the stack"): the table is kept; queues, logs, secrets and the key go with the stack.
        Set<String> stateful = Set.of("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup",
                "AWS::SecretsManager::Secret", "AWS::KMS::Key");
        Map<String, String> expected = Map.of("StateTable", "Retain");
        List<String> checked = new ArrayList<>();
        TEMPLATE.resources().properties().forEach(r -> {
            if (stateful.contains(r.getValue().path("Type").asText())) {
                String policy = expected.getOrDefault(r.getKey(), "Delete");
                assertThat(r.getValue().path("DeletionPolicy").asText()).as("%s DeletionPolicy", r.getKey())
                        .isEqualTo(policy);
                assertThat(r.getValue().path("UpdateReplacePolicy").asText()).as("%s UpdateReplacePolicy", r.getKey())
                        .isEqualTo(policy);
                checked.add(r.getKey());
            }
        });
        assertThat(checked).contains("StateTable", "WebhookCredentialsSecret", "SegmentWriteKeySecret", "DeltaQueue");
    }

    @Test
    void webhook_answersWithinTheHttpApiIntegrationLimit() {
        assertThat(TEMPLATE.timeoutSeconds("WebhookFunction")).as("HTTP API gives up after 30 s").isLessThan(30);
    }

    @Test
    void secrets_neverAppearInTheTemplateOrItsOutputs() {
        // No parameter carries a secret: `sam deploy --guided` asks a NoEcho parameter again and again until
        // something is typed (it offers no default), and what is typed becomes the secret (README Deploy).
        TEMPLATE.root().path("Parameters").properties().forEach(p -> assertThat(p.getValue().path("NoEcho").asBoolean())
                .as("parameter %s is NoEcho", p.getKey()).isFalse());
        assertThat(TEMPLATE.root().path("Parameters").has("SegmentWriteKey")).isFalse();

        TEMPLATE.root().path("Outputs").properties().forEach(output -> {
            String value = output.getValue().path("Value").toString();
            assertThat(value).as("output %s", output.getKey())
                    .doesNotContain("SecretString", "resolve:secretsmanager");
        });

        JsonNode generated = TEMPLATE.resource("WebhookCredentialsSecret").path("Properties").path("GenerateSecretString");
        assertThat(generated.path("GenerateStringKey").asText()).isEqualTo("password");
        assertThat(generated.path("ExcludePunctuation").asBoolean()
                || generated.path("ExcludeCharacters").asText().contains(":"))
                .as("a ':' in the password would break Basic auth").isTrue();
    }

    @Test
    void segmentSecret_startsAsAPlaceholderTheSenderReportsAsNotSet() {
        // The first deploy needs no key: the secret starts as a fixed placeholder, which CloudFormation never
        // writes again while this property is unchanged, so a key stored with put-secret-value stays.
        JsonNode secretString = TEMPLATE.resource("SegmentWriteKeySecret").path("Properties").get("SecretString");
        assertThat(secretString).as("a literal placeholder, not a parameter or a condition").isNotNull();
        assertThat(secretString.isTextual()).as("SecretString %s is a literal", secretString).isTrue();
        assertThat(TEMPLATE.resource("SegmentWriteKeySecret").path("Properties").has("GenerateSecretString"))
                .as("a generated value would look like a key and be sent to Segment").isFalse();

        SegmentDestinations destinations = SegmentDestinations.parse(secretString.asText());
        assertThatThrownBy(() -> destinations.forConnection(CohortRef.DEFAULT_CONNECTION))
                .as("the sender's verdict on the placeholder: retryable, and saying what to do")
                .isInstanceOf(DependencyUnavailableException.class)
                .hasMessageContaining("Segment write key not set")
                .hasMessageContaining("put-secret-value");
    }

    @Test
    void alarmTopic_isEncryptedOnlyWithAKeyCloudWatchMayUse() {
        // CloudWatch publishes an alarm to an encrypted topic only if the key's policy lets
        // cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*. The AWS managed key
        // (alias/aws/sns) has a policy nobody can change, so every alarm would go to ALARM and notify no one
        // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
        JsonNode kmsKey = TEMPLATE.resource("AlarmTopic").path("Properties").get("KmsMasterKeyId");
        for (Choice choice : choices(kmsKey, null)) {
            if (choice.value() == null || choice.value().equals(ref("AWS::NoValue"))) {
                continue; // unencrypted: CloudWatch needs nothing more than the topic's default access policy
            }
            String keyId = CfnTemplate.referencedId(choice.value());
            assertThat(keyId).as("AlarmTopic KmsMasterKeyId %s: an AWS managed key or a key outside this template, "
                    + "whose policy cannot be shown to let CloudWatch use it", choice.value()).isNotNull();
            JsonNode key = TEMPLATE.resource(keyId);
            assertThat(key.path("Type").asText()).as(keyId).isEqualTo("AWS::KMS::Key");
            assertThat(key.path("Condition").asText(null)).as("%s exists whenever the topic uses it", keyId)
                    .isEqualTo(choice.condition());
            JsonNode properties = key.path("Properties");
            assertThat(properties.path("EnableKeyRotation").asBoolean()).as("%s rotation", keyId).isTrue();
            List<JsonNode> statements = new ArrayList<>();
            properties.path("KeyPolicy").path("Statement").forEach(statements::add);
            assertThat(statements).as("%s key policy: the account administers the key (IAM policies apply)", keyId)
                    .anySatisfy(s -> {
                        assertThat(s.path("Effect").asText()).isEqualTo("Allow");
                        assertThat(s.path("Principal").path("AWS").toString()).contains(":root");
                        assertThat(strings(s.get("Action"))).contains("kms:*");
                    });
            assertThat(statements).as("%s key policy: CloudWatch alarms of this account may encrypt for the topic", keyId)
                    .anySatisfy(s -> {
                        assertThat(s.path("Effect").asText()).isEqualTo("Allow");
                        assertThat(strings(s.path("Principal").get("Service"))).containsExactly("cloudwatch.amazonaws.com");
                        assertThat(strings(s.get("Action"))).containsExactlyInAnyOrder("kms:Decrypt", "kms:GenerateDataKey*");
                        assertThat(s.path("Condition").toString()).as("confused-deputy conditions")
                                .contains("\"aws:SourceAccount\"", "\"aws:SourceArn\"", ":alarm:");
                    });
            // nobody else but the account: a service principal other than CloudWatch gains nothing here
            assertThat(statements).allSatisfy(s -> assertThat(s.path("Principal").toString())
                    .containsAnyOf(":root", "cloudwatch.amazonaws.com"));
        }
        // and every alarm notifies that topic
        TEMPLATE.resourcesOfType("AWS::CloudWatch::Alarm").forEach((id, alarm) ->
                assertThat(alarm.path("Properties").path("AlarmActions")).as("%s AlarmActions", id)
                        .containsExactly(ref("AlarmTopic")));
    }

    @Test
    void alarmTopicEncryption_isAChoiceWhoseDefaultCostsNothing() {
        JsonNode parameter = TEMPLATE.root().path("Parameters").path("AlarmTopicEncryption");
        assertThat(parameter.path("AllowedValues")).extracting(JsonNode::asText)
                .containsExactly("none", "customer-managed-key");
        assertThat(parameter.path("Default").asText()).as("a KMS key costs $1 a month").isEqualTo("none");
    }

    // ---------------------------------------------------------------- helpers

    /** A value a property can take, and the condition under which it takes it (null: always). */
    private record Choice(JsonNode value, String condition) {
    }

    /** The values a property can take: both branches of an {@code !If}, each with its condition. */
    private static List<Choice> choices(JsonNode value, String condition) {
        if (value != null && value.isObject() && value.has("Fn::If")) {
            JsonNode ifArgs = value.get("Fn::If");
            String name = ifArgs.get(0).asText();
            List<Choice> all = new ArrayList<>(choices(ifArgs.get(1), name));
            all.addAll(choices(ifArgs.get(2), "!" + name));
            return all;
        }
        return List.of(new Choice(value, condition));
    }

    /** {@code !Ref id} in the long form the template reader produces. */
    @Test
    void silenceCheck_runsHourlyOnTheReconciler_withItsThreshold_andItsAlarmNotifiesTheTopic() {
        // README "Cohorts that stop syncing": the schedule's input is the one message the reconciler runs the check for
        JsonNode schedule = TEMPLATE.resource("ReconcilerFunction").path("Properties").path("Events")
                .path("SilenceCheck");
        assertThat(schedule.path("Type").asText()).isEqualTo("Schedule");
        assertThat(schedule.path("Properties").path("Schedule").asText()).isEqualTo("rate(1 hour)");
        SQSEvent event = HandlersOnMoto.scheduledSilenceCheck();
        assertThat(event.getRecords()).singleElement()
                .satisfies(m -> assertThat(SilenceCheck.isCheckMessage(m.getBody())).isTrue());
        assertThat(TEMPLATE.environment("ReconcilerFunction").get("SILENCE_AFTER_HOURS"))
                .isEqualTo(ref("SilentCohortAlarmHours"));
        JsonNode parameter = TEMPLATE.root().path("Parameters").path("SilentCohortAlarmHours");
        assertThat(parameter.path("Default").asInt()).as("Mixpanel falls back to a full sync after 3 days").isEqualTo(72);
        // the check runs hourly and records calls at most hourly: a threshold under 2 h would alarm on live cohorts
        assertThat(parameter.path("MinValue").asInt()).isGreaterThanOrEqualTo(2);
        JsonNode alarm = TEMPLATE.resource("SilentCohortsAlarm").path("Properties");
        assertThat(alarm.path("MetricName").asText()).isEqualTo("SilentCohorts");
        assertThat(alarm.path("Namespace").asText()).isEqualTo("CohortSync");
        assertThat(alarm.path("Dimensions")).singleElement().satisfies(d -> {
            assertThat(d.path("Name").asText()).isEqualTo("Function");
            assertThat(d.path("Value").asText()).isEqualTo("reconciler");
        });
        assertThat(alarm.path("Threshold").asInt()).isEqualTo(1);
        assertThat(alarm.path("AlarmActions")).containsExactly(ref("AlarmTopic"));
    }

    private static JsonNode ref(String id) {
        return JsonNodeFactory.instance.objectNode().put("Ref", id);
    }

    private static String moduleOf(String functionId) {
        return Repo.moduleOf(TEMPLATE.functionProperty(functionId, "Handler").asText());
    }

    private static void forEachSqsEvent(BiConsumer<String, JsonNode> check) {
        TEMPLATE.functions().forEach((id, function) -> function.path("Properties").path("Events").properties()
                .forEach(e -> {
                    if ("SQS".equals(e.getValue().path("Type").asText())) {
                        check.accept(id, e.getValue());
                    }
                }));
    }

    /**
     * Every Allow statement of every policy document anywhere under Resources (roles, policies, queues, …),
     * except KMS key policies: there Resource '*' means the key itself and the account root's kms:* is the
     * default policy's delegation to IAM; alarmTopic_isEncryptedOnlyWithAKeyCloudWatchMayUse checks them.
     */
    private static void forEachAllowStatement(BiConsumer<String, JsonNode> check) {
        List<String> seen = new ArrayList<>();
        TEMPLATE.resources().properties().stream()
                .filter(r -> !"AWS::KMS::Key".equals(r.getValue().path("Type").asText()))
                .forEach(r -> walk(r.getKey(), r.getValue(), (where, statement) -> {
                    if ("Allow".equals(statement.path("Effect").asText())) {
                        seen.add(where);
                        check.accept(where, statement);
                    }
                }));
        assertThat(seen).as("policy statements found").isNotEmpty();
    }

    private static void walk(String where, JsonNode node, BiConsumer<String, JsonNode> onStatement) {
        if (node.isObject()) {
            node.properties().forEach(e -> {
                if (e.getKey().equals("Statement")) {
                    JsonNode s = e.getValue();
                    for (JsonNode statement : s.isArray() ? s : List.of(s)) {
                        onStatement.accept(where + " " + statement.path("Sid").asText("(no Sid)"), statement);
                    }
                } else {
                    walk(where, e.getValue(), onStatement);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> walk(where, n, onStatement));
        }
    }

    /** A policy field that is a string or a list; intrinsic functions stay as their JSON text. */
    private static List<String> strings(JsonNode node) {
        if (node == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : node.isArray() ? node : List.of(node)) {
            out.add(n.isTextual() ? n.asText() : n.toString());
        }
        return out;
    }
}
