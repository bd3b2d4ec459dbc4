package io.cohortsync.infra;

import com.fasterxml.jackson.databind.JsonNode;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each function's role against the AWS calls its real handler makes: moto checks no permission, so
 * this is what stands between a new call in the code and an AccessDenied in production. Both ways:
 * every action a function's calls need is granted, and every action granted is needed, by a call seen
 * here or for a reason named below (least privilege).
 */
@ExtendWith(MotoExtension.class)
class RolePermissionsIT {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    /** Granted for a path the scenario does not take, each with its reason. */
    private static final Map<String, Map<String, String>> GRANTED_FOR_PATHS_NOT_TAKEN = Map.of(
            "WebhookFunction", Map.of(),
            "SenderFunction", Map.of(
                    "sqs:ReceiveMessage", "the SQS event source mapping polls the delta queue with this role",
                    "sqs:DeleteMessage", "the SQS event source mapping deletes what the sender completed",
                    "sqs:GetQueueAttributes", "the SQS event source mapping reads the queue's attributes",
                    "sqs:SendMessage", "re-queues deltas ahead of the table, dead-letters rejected messages"),
            "ReconcilerFunction", Map.of(
                    "sqs:ReceiveMessage", "the SQS event source mapping polls the reconcile queue with this role",
                    "sqs:DeleteMessage", "the SQS event source mapping deletes the jobs that were handled",
                    "sqs:GetQueueAttributes", "the SQS event source mapping reads the queue's attributes"));

    /** Written by the Lambda runtime and the X-Ray integration, not by an SDK call of ours. */
    private static final Set<String> RUNTIME_ACTIONS = Set.of("logs:CreateLogStream", "logs:PutLogEvents",
            "xray:PutTraceSegments", "xray:PutTelemetryRecords");

    private static HandlersOnMoto.Run run;

    @BeforeAll
    static void runTheHandlers(AwsStack stack) throws Exception {
        run = HandlersOnMoto.run(stack);
    }

    @Test
    void eachRole_grantsEveryActionItsFunctionsCallsNeed() {
        for (String functionId : TEMPLATE.functions().keySet()) {
            // given
            Set<String> calls = run.operations().getOrDefault(functionId, Set.of());
            assertThat(calls).as("AWS calls of %s in the scenario", functionId).isNotEmpty();
            // when
            Set<String> needed = new TreeSet<>();
            calls.forEach(call -> needed.addAll(iamActions(call)));
            // then
            assertThat(grantedActions(functionId)).as("actions granted to %s's role (its calls: %s)", functionId, calls)
                    .containsAll(needed);
        }
    }

    @Test
    void eachRole_grantsNoActionItsFunctionDoesNotNeed() {
        for (String functionId : TEMPLATE.functions().keySet()) {
            // given
            Set<String> needed = new TreeSet<>();
            run.operations().getOrDefault(functionId, Set.of()).forEach(call -> needed.addAll(iamActions(call)));
            Map<String, String> otherReasons = GRANTED_FOR_PATHS_NOT_TAKEN.get(functionId);
            assertThat(otherReasons).as("reasons listed for %s", functionId).isNotNull();
            // when
            Set<String> unneeded = new TreeSet<>(grantedActions(functionId));
            unneeded.removeAll(needed);
            unneeded.removeAll(otherReasons.keySet());
            unneeded.removeAll(RUNTIME_ACTIONS);
            // then
            assertThat(unneeded).as("actions granted to %s that no call here needs and no reason above names",
                    functionId).isEmpty();
            assertThat(needed).as("%s: a reason listed for an action the scenario does use is stale", functionId)
                    .noneMatch(otherReasons::containsKey);
        }
    }

    /**
     * The IAM actions that authorise one SDK call. The batch calls are authorised by their single
     * actions; a TransactWriteItems by the actions of its items (AWS, "Using IAM with DynamoDB
     * transactions"): this code's one transaction, a session's completion, is an Update and a Put.
     */
    static Set<String> iamActions(String serviceDotOperation) {
        String service = serviceDotOperation.substring(0, serviceDotOperation.indexOf('.'));
        String operation = serviceDotOperation.substring(serviceDotOperation.indexOf('.') + 1);
        return switch (service) {
            case "DynamoDb" -> switch (operation) {
                case "TransactWriteItems" -> Set.of("dynamodb:UpdateItem", "dynamodb:PutItem");
                case "TransactGetItems" -> Set.of("dynamodb:GetItem");
                default -> Set.of("dynamodb:" + operation);
            };
            case "Sqs" -> Set.of("sqs:" + operation.replaceFirst("Batch$", ""));
            case "SecretsManager" -> Set.of("secretsmanager:" + operation);
            default -> throw new AssertionError("no IAM mapping for " + serviceDotOperation + ": add one");
        };
    }

    /** Every action of every Allow statement of the function's own role. */
    private static Set<String> grantedActions(String functionId) {
        String roleId = CfnTemplate.referencedId(TEMPLATE.functionProperty(functionId, "Role"));
        assertThat(roleId).as("%s's Role", functionId).isNotNull();
        Set<String> actions = new TreeSet<>();
        for (JsonNode policy : TEMPLATE.resource(roleId).path("Properties").path("Policies")) {
            for (JsonNode statement : policy.path("PolicyDocument").path("Statement")) {
                if ("Allow".equals(statement.path("Effect").asText())) {
                    JsonNode action = statement.get("Action");
                    for (JsonNode a : action.isArray() ? action : List.of(action)) {
                        actions.add(a.asText());
                    }
                }
            }
        }
        return actions;
    }
}
