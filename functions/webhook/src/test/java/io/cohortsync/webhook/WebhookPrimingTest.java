package io.cohortsync.webhook;

import io.cohortsync.snapstart.Priming;
import io.cohortsync.testkit.LambdaCrac;
import io.cohortsync.testkit.Tripwire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The webhook's SnapStart primer, run as Lambda runs it: registered by the handler's construction and notified
 * through the CRaC context of Lambda's runtime client (surefire sets {@code org.crac.Core.Compat} as the
 * runtime does). Every endpoint, the SDK's and the queues', points at a {@link Tripwire}: priming must
 * reach all of its paths without a single connection.
 */
class WebhookPrimingTest {
    private Tripwire tripwire;

    @BeforeEach
    void pointEverythingAtATripwire() {
        tripwire = new Tripwire();
        System.setProperty("aws.endpointUrl", tripwire.url().toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty("aws.endpointUrl");
        tripwire.close();
    }

    @Test
    void primingThroughLambdasCracContext_runsEveryPath_withoutTouchingTheNetwork() throws Exception {
        WebhookHandler handler = WebhookHandler.forEnvironment(environment());
        assertThat(handler.priming()).isNotNull();
        assertThat(handler.priming().lastReport()).isNull(); // nothing primed at construction

        LambdaCrac.beforeCheckpoint();

        Priming.Report report = handler.priming().lastReport();
        assertThat(report).as("the handler's primer was notified").isNotNull();
        assertThat(report.failed()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.ran()).containsExactly("event codec", "add_members", "remove_members", "members", "status",
                "wrong password", "not an export", "network stack (loopback): SDK");
        // The adapters' calls, through the real SDK clients (marshalled, signed, unmarshalled) on the canned client.
        assertThat(report.awsCalls()).containsKeys("GetSecretValue", "GetItem", "Query", "PutItem", "BatchGetItem",
                "SendMessageBatch", "BatchWriteItem", "TransactWriteItems");
        assertThat(report.awsCalls().get("SendMessageBatch")).isGreaterThanOrEqualTo(4); // deltas, exits, 16 jobs
        assertThat(tripwire.connections()).as("connections made while priming").isZero();
        // The tripwire does count: the check above is not vacuous.
        try (Socket probe = new Socket(tripwire.url().getHost(), tripwire.url().getPort())) {
            assertThat(probe.isConnected()).isTrue();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (tripwire.connections() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(tripwire.connections()).isEqualTo(1);
    }

    @Test
    void failingPrimer_doesNotFailTheSnapshot() {
        Priming failing = Priming.register("webhook", () -> new Priming.Plan(List.of(new Priming.Step("boom", () -> {
            throw new IllegalStateException("boom");
        })), null));

        // Lambda's context turns an exception from a hook into a CheckpointException: a failed snapshot.
        assertThatCode(LambdaCrac::beforeCheckpoint)
                .doesNotThrowAnyException();
        assertThat(failing.lastReport().failed()).containsOnlyKeys("boom");
    }

    private Map<String, String> environment() {
        String q = tripwire.url() + "/000000000000/";
        return Map.of("AWS_REGION", "us-east-1", "TABLE_NAME", "priming-test-state", "DELTA_QUEUE_URL", q + "deltas",
                "RECONCILE_QUEUE_URL", q + "reconcile", "WEBHOOK_SECRET_ID", "priming-test/webhook");
    }
}
