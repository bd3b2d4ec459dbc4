package io.cohortsync.reliability;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookHandler;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * Every request of the bad-input corpus through the real webhook handler on moto: the status the spec
 * asks for (400 for a body a human must fix, 401 for credentials, 503 when the secret cannot be read,
 * never a 500), Mixpanel's failure envelope, nothing stored or queued, and no PII or secret in the log
 * line or the error message. Well-formed requests with unusable members are answered 200, the usable
 * members synced, the others skipped and counted in the log line.
 */
@ExtendWith(MotoExtension.class)
class BadInputIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void corpus_holdsAtLeastFortyRequests_eachParsable() {
        List<BadInputCorpus> cases = BadInputCorpus.load();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(40);
        assertThat(cases.stream().filter(c -> c.status() != 200)).hasSizeGreaterThanOrEqualTo(40);
        assertThat(cases).allSatisfy(c -> assertThat(c.status()).isIn(200, 400, 401, 503));
    }

    @TestFactory
    Stream<DynamicTest> eachRequest_getsTheRightStatusAndEnvelope_andLeavesNoTrace(AwsStack shared) {
        return BadInputCorpus.load().stream().map(c -> dynamicTest(c.name() + ": " + c.description(),
                () -> run(c, c.status() == 200 ? AwsStack.create() : shared)));
    }

    private void run(BadInputCorpus c, AwsStack stack) throws Exception {
        // given the real handler on this stack, its log captured
        String captured;
        APIGatewayV2HTTPResponse response;
        QueueReader.drainMessages(stack.sqs, stack.queueUrl); // a failed case before this one must not leak into it
        int itemsBefore = items(stack);
        try (OutputCapture capture = OutputCapture.start(false)) {
            WebhookHandler handler = handler(stack, c);
            // when the request arrives
            response = handler.handleRequest(c.event(), LambdaContexts.withRemaining("cohort-sync-webhook",
                    Duration.ofSeconds(29)));
            captured = capture.text();
        }

        // then the status is the one the spec asks for, in Mixpanel's envelope
        assertThat(response.getStatusCode()).as(c.name() + " answered " + response.getBody()).isEqualTo(c.status());
        assertThat(response.getHeaders()).containsEntry("content-type", "application/json");
        JsonNode body = JSON.readTree(response.getBody());
        assertThat(body.path("action").isTextual()).as("action in " + response.getBody()).isTrue();
        if (c.status() == 200) {
            assertThat(body.path("status").asText()).isEqualTo("success");
            assertThat(body.has("error")).isFalse();
        } else {
            assertThat(body.path("status").asText()).isEqualTo("failure");
            assertThat(body.path("error").path("code").asInt()).isEqualTo(c.status());
            assertThat(body.path("error").path("message").asText()).isNotBlank().hasSizeLessThan(500);
        }

        // and exactly one log line tells an operator what happened, with the same status
        List<JsonNode> lines = captured.lines().filter(l -> l.contains("\"webhook handled\""))
                .map(BadInputIT::json).toList();
        assertThat(lines).as(captured).hasSize(1);
        JsonNode log = lines.getFirst();
        assertThat(log.path("status").asInt()).isEqualTo(c.status());

        // and nothing stored or queued, unless it was answered 200
        List<?> queued = QueueReader.drainDeltas(stack.sqs, stack.queueUrl);
        if (c.status() == 200) {
            assertThat(memberships(stack)).as("membership rows").isEqualTo(c.stored());
            assertThat(queued).as("deltas queued").hasSize(c.stored());
            assertThat(log.path("membersSkipped").asInt()).as("membersSkipped").isEqualTo(c.skipped());
            if (c.skipped() > 0) {
                assertThat(log.path("skippedByReason").size()).isPositive();
            }
        } else {
            assertThat(items(stack)).as("items in the table").isEqualTo(itemsBefore);
            assertThat(queued).as("deltas queued").isEmpty();
        }

        // and neither the log nor the answer carries a member's data or a secret
        List<String> leaks = new LeakScanner().also(c.sentSecrets().toArray(String[]::new))
                .scan(captured + "\n" + response.getBody());
        assertThat(leaks).as("PII or secrets in the output").isEmpty();
    }

    private static WebhookHandler handler(AwsStack stack, BadInputCorpus c) {
        String secretId = switch (c.secret()) {
            case "ok" -> stack.webhookSecretId;
            // Nothing under this id: Secrets Manager answers ResourceNotFound, as for a deleted secret.
            case "unavailable" -> stack.name + "/no-such-secret";
            case "not-json" -> secret(stack, "not-json", "username=mixpanel password=local-secret");
            case "no-password" -> secret(stack, "no-password", "{\"username\":\"mixpanel\"}");
            default -> throw new IllegalArgumentException(c.name() + ": secret must be ok, unavailable, not-json or no-password");
        };
        Clock clock = Clock.systemUTC();
        WebhookConfig config = new WebhookConfig(stack.tableName, stack.queueUrl, secretId, MassExitPolicy.DEFAULT,
                Duration.ofHours(72), 6_000_000, Duration.ofSeconds(300), 16, Duration.ZERO);
        SqsDeltaQueue queue = new SqsDeltaQueue(stack.sqs, stack.queueUrl);
        return WebhookHandler.withPorts(config, new DynamoMembershipStore(stack.dynamo, stack.tableName, 16),
                queue::enqueue, new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock),
                new SecretsManagerSource(stack.secrets), clock);
    }

    private static String secret(AwsStack stack, String kind, String value) {
        String id = stack.name + "/" + kind;
        Infrastructure.putSecret(stack.secrets, id, value);
        return id;
    }

    private static int items(AwsStack stack) {
        return stack.dynamo.scan(s -> s.tableName(stack.tableName)).count();
    }

    private static int memberships(AwsStack stack) {
        return (int) stack.dynamo.scan(s -> s.tableName(stack.tableName)).items().stream()
                .filter(i -> i.get("pk").s().startsWith("M#")).count();
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError("log line is not JSON: " + line, e);
        }
    }
}
