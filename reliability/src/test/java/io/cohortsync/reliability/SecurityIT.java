package io.cohortsync.reliability;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.reliability.chaos.Faults;
import io.cohortsync.reliability.chaos.FaultyPorts;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.webhook.WebhookHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Security checks of the webhook on moto that the bad-input corpus does not already make: the body limit
 * at its exact edge (in bytes, not characters), 503 rather than 401 whenever the secret cannot be read
 * (and 401 when credentials are missing, secret or not), and that a stream of wrong credentials cannot
 * hammer Secrets Manager. The constant-time comparison is {@code BasicAuthenticatorConstantTimeTest} (functions/webhook);
 * IAM scoping (each function may touch only its own table, queues and secret) is checked on the
 * template by {@code infra-tests/.../TemplateTest}.
 */
@ExtendWith(MotoExtension.class)
class SecurityIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LIMIT = 6_000_000;

    private AwsStack stack;
    private OutputCapture capture;

    @BeforeEach
    void setUp(AwsStack stack) {
        this.stack = stack;
        this.capture = OutputCapture.start(false);
    }

    @AfterEach
    void noLeaks() {
        String output = capture.text();
        capture.close();
        assertThat(new LeakScanner().also("brute-force-guess").scan(output)).isEmpty();
    }

    private WebhookHandler handler(String secretId, SecretSource secrets) {
        return WebhookOnMoto.handler(stack, secretId, secrets, LIMIT);
    }

    private WebhookHandler handler() {
        return handler(stack.webhookSecretId, new SecretsManagerSource(stack.secrets));
    }

    private static APIGatewayV2HTTPResponse post(WebhookHandler h, String body, String authorization) {
        return h.handleRequest(ApiGatewayEvents.post(body, authorization), null);
    }

    private static String valid() {
        return ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD);
    }

    /** A valid add_members body padded with spaces (still valid JSON) to exactly {@code bytes}, or with 'é's. */
    private static String bodyOf(int bytes, boolean twoByteCharacters) {
        String export = Exports.add("sec-1", "Security", Exports.users("size", 0, 3));
        String open = export.substring(0, export.length() - 2) + ",\"pad\":\"";
        String close = "\"}}";
        int room = bytes - open.getBytes(StandardCharsets.UTF_8).length - close.length();
        String pad = twoByteCharacters ? "é".repeat(room / 2) + (room % 2 == 1 ? "x" : "") : "x".repeat(room);
        String body = open + pad + close;
        assertThat(body.getBytes(StandardCharsets.UTF_8)).hasSize(bytes);
        return body;
    }

    @Test
    void bodyLimit_acceptsExactlyMaxBodyBytes_andRefusesOneByteMore_countingBytesNotCharacters() throws Exception {
        WebhookHandler h = handler();
        // a body of exactly the limit is processed
        assertThat(post(h, bodyOf(LIMIT, false), valid()).getStatusCode()).isEqualTo(200);
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).hasSize(3);
        int items = stack.dynamo.scan(s -> s.tableName(stack.tableName)).count();

        // one byte more is a 400, however few characters it is, and leaves no trace
        for (boolean twoByte : List.of(false, true)) {
            String body = bodyOf(LIMIT + 1, twoByte);
            APIGatewayV2HTTPResponse r = post(h, body, valid());
            assertThat(r.getStatusCode()).isEqualTo(400);
            assertThat(JSON.readTree(r.getBody()).path("error").path("message").asText())
                    .contains(Integer.toString(LIMIT));
            if (twoByte) {
                assertThat(body.length()).as("characters").isLessThan(LIMIT); // over the limit in bytes only
            }
        }
        assertThat(stack.dynamo.scan(s -> s.tableName(stack.tableName)).count()).isEqualTo(items);
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).isEmpty();
    }

    @Test
    void unreadableSecret_is503NeverA401_andMissingCredentialsStay401() throws Exception {
        String body = Exports.add("sec-2", "Security", List.of("secret@example.com"));
        // Secrets Manager throttled (the adapter's DependencyUnavailableException), or the secret gone
        Faults faults = new Faults();
        WebhookHandler throttled = handler(stack.webhookSecretId,
                FaultyPorts.secrets(new SecretsManagerSource(stack.secrets), faults));
        WebhookHandler deleted = handler(stack.name + "/deleted", new SecretsManagerSource(stack.secrets));
        for (WebhookHandler h : List.of(throttled, deleted)) {
            faults.open(new Faults.Plan(Faults.Action.THROTTLE, 1, false));
            try {
                // right or wrong credentials: the webhook cannot tell, so Mixpanel must retry, not pause
                for (String auth : List.of(valid(), ApiGatewayEvents.basic("mixpanel", "brute-force-guess"))) {
                    APIGatewayV2HTTPResponse r = post(h, body, auth);
                    assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(503);
                    assertThat(JSON.readTree(r.getBody()).path("error").path("message").asText())
                            .contains("SecretsManager").doesNotContain(stack.webhookSecretId);
                    faults.close();
                    faults.open(new Faults.Plan(Faults.Action.THROTTLE, 1, false));
                }
                // no credentials at all needs no secret to refuse
                assertThat(post(h, body, null).getStatusCode()).isEqualTo(401);
            } finally {
                faults.close();
            }
        }
        assertThat(stack.dynamo.scan(s -> s.tableName(stack.tableName)).count()).isZero();
    }

    @Test
    void wrongCredentials_reReadTheSecretAtMostOncePerThirtySeconds_soGuessingCannotHammerSecretsManager() {
        AtomicInteger reads = new AtomicInteger();
        SecretsManagerSource real = new SecretsManagerSource(stack.secrets);
        WebhookHandler h = handler(stack.webhookSecretId, id -> {
            reads.incrementAndGet();
            return real.read(id);
        });
        String body = Exports.add("sec-3", "Security", List.of("guess@example.com"));

        // when 50 guesses arrive within a few seconds
        for (int i = 0; i < 50; i++) {
            assertThat(post(h, body, ApiGatewayEvents.basic("mixpanel", "brute-force-guess" + i)).getStatusCode())
                    .isEqualTo(401);
        }

        // then the secret was read once, plus at most one early re-read in case it had been rotated
        assertThat(reads.get()).isBetween(1, 2);
        // and the right credentials still work at once
        assertThat(post(h, body, valid()).getStatusCode()).isEqualTo(200);
    }
}
