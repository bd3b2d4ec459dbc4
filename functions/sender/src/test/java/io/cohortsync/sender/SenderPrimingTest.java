package io.cohortsync.sender;

import io.cohortsync.snapstart.Priming;
import io.cohortsync.testkit.LambdaCrac;
import io.cohortsync.testkit.Tripwire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sender's SnapStart primer, run as Lambda runs it (registered by the handler's construction, notified through
 * the runtime client's CRaC context), with the SDK's endpoint and Segment's pointed at a {@link Tripwire}: it must
 * send a batch's identifies through every verdict without a single connection.
 */
class SenderPrimingTest {
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
    void primingThroughLambdasCracContext_runsTheBatch_withoutTouchingTheNetwork() throws Exception {
        String q = tripwire.url() + "/000000000000/";
        SenderHandler handler = SenderHandler.forEnvironment(Map.of("AWS_REGION", "us-east-1",
                "TABLE_NAME", "priming-test-state", "DELTA_QUEUE_URL", q + "deltas", "DLQ_URL", q + "dlq",
                "SEGMENT_SECRET_ID", "priming-test/segment", "SEGMENT_ENDPOINT", tripwire.url().toString()));
        assertThat(handler.priming().lastReport()).isNull();

        LambdaCrac.beforeCheckpoint();

        Priming.Report report = handler.priming().lastReport();
        assertThat(report).as("the handler's primer was notified").isNotNull();
        assertThat(report.failed()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.ran()).containsExactly("event codec", "delta batch",
                "network stack (loopback): SDK, Segment");
        // Membership read, the ahead delta re-queued, the poison message dead-lettered, the write key read.
        assertThat(report.awsCalls()).containsKeys("BatchGetItem", "SendMessageBatch", "GetSecretValue");
        assertThat(report.awsCalls().get("SendMessageBatch")).isEqualTo(2); // the re-queue, the dead letter
        // The history update, answered with a failed condition: the SDK's error path is primed too.
        assertThat(report.awsCalls()).containsKey("UpdateItem");
        assertThat(tripwire.connections()).as("connections made while priming").isZero();
    }
}
