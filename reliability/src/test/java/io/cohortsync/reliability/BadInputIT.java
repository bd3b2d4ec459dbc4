package io.cohortsync.reliability;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.Shards;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.webhook.WebhookHandler;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * Every request of the bad-input corpus through the real webhook handler on moto: the status the spec
 * asks for (400 for a body a human must fix, 401 for credentials, 503 when the secret cannot be read,
 * never a 500), Mixpanel's failure envelope, nothing stored (no item of any kind: membership
 * {@code M#…#<shard>}, cohort {@code C#…}, reconcile {@code R#…}, session {@code S#…}) and nothing queued
 * (deltas or reconcile jobs), and no PII or secret in the log line or the error message. Well-formed
 * requests with unusable members are answered 200, the usable members synced in their shards, the
 * others skipped and counted in the log line.
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
        // a failed case before this one must not leak into it
        QueueReader.drainMessages(stack.sqs, stack.queueUrl);
        QueueReader.drainMessages(stack.sqs, stack.reconcileQueueUrl);
        Set<String> keysBefore = keys(stack);
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
        List<ReconcileJob> jobs = QueueReader.drainMessages(stack.sqs, stack.reconcileQueueUrl).stream()
                .map(m -> ReconcileJobCodec.decode(m.body())).toList();
        if (c.status() == 200) {
            assertThat(memberships(stack)).as("membership rows, each in its user's shard").isEqualTo(c.stored());
            assertThat(keys(stack)).as("items in the old single-partition layout")
                    .noneMatch(k -> k.startsWith("M#") && k.substring(0, k.indexOf('|')).split("#").length == 3);
            assertThat(queued).as("deltas queued").hasSize(c.stored());
            assertThat(log.path("membersSkipped").asInt()).as("membersSkipped").isEqualTo(c.skipped());
            if (c.skipped() > 0) {
                assertThat(log.path("skippedByReason").size()).isPositive();
            }
            // a full sync's page that completes its session queues one count job per shard for the reconciler
            boolean completed = "RECONCILING".equals(log.path("session").asText());
            assertThat(jobs).as("reconcile jobs queued").hasSize(completed ? Shards.COUNT : 0)
                    .allMatch(j -> j.kind() == ReconcileJob.Kind.EXIT_COUNT);
        } else {
            Set<String> added = new HashSet<>(keys(stack));
            added.removeAll(keysBefore);
            assertThat(added).as("items written (membership M#…#<shard>, cohort C#…, reconcile R#…, session S#…)")
                    .isEmpty();
            assertThat(queued).as("deltas queued").isEmpty();
            assertThat(jobs).as("reconcile jobs queued").isEmpty();
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
        return WebhookOnMoto.handler(stack, secretId, new SecretsManagerSource(stack.secrets), 6_000_000);
    }

    private static String secret(AwsStack stack, String kind, String value) {
        String id = stack.name + "/" + kind;
        Infrastructure.putSecret(stack.secrets, id, value);
        return id;
    }

    /** Every item's {@code pk|sk}. */
    private static Set<String> keys(AwsStack stack) {
        Set<String> keys = new HashSet<>();
        stack.dynamo.scanPaginator(s -> s.tableName(stack.tableName)).items()
                .forEach(i -> keys.add(i.get("pk").s() + "|" + i.get("sk").s()));
        return keys;
    }

    /** Membership items in the sharded layout ({@code M#<project>#<cohort>#<shard>}), each in its user's shard. */
    private static int memberships(AwsStack stack) {
        int n = 0;
        for (Map<String, AttributeValue> i
                : stack.dynamo.scanPaginator(s -> s.tableName(stack.tableName)).items()) {
            String[] pk = i.get("pk").s().split("#", -1);
            if (pk[0].equals("M") && pk.length == 4) {
                assertThat(pk[3]).as("shard of " + i.get("pk").s())
                        .isEqualTo(String.format("%02x", Shards.of(i.get("sk").s())));
                n++;
            }
        }
        return n;
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError("log line is not JSON: " + line, e);
        }
    }
}
