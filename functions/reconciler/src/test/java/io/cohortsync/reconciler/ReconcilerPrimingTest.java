package io.cohortsync.reconciler;

import io.cohortsync.snapstart.Priming;
import io.cohortsync.testkit.LambdaCrac;
import io.cohortsync.testkit.Tripwire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reconciler's SnapStart primer, run as Lambda runs it (registered by the handler's construction, notified
 * through the runtime client's CRaC context), with the SDK's endpoint and the queues pointed at a
 * {@link Tripwire}: a rename and an exit pass's count and apply must run without a single connection.
 */
class ReconcilerPrimingTest {
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
    void primingThroughLambdasCracContext_runsEachJobKind_withoutTouchingTheNetwork() throws Exception {
        String q = tripwire.url() + "/000000000000/";
        ReconcilerHandler handler = ReconcilerHandler.forEnvironment(Map.of("AWS_REGION", "us-east-1",
                "TABLE_NAME", "priming-test-state", "DELTA_QUEUE_URL", q + "deltas", "RECONCILE_QUEUE_URL", q + "jobs"));
        assertThat(handler.priming().lastReport()).isNull();

        LambdaCrac.beforeCheckpoint();

        Priming.Report report = handler.priming().lastReport();
        assertThat(report).as("the handler's primer was notified").isNotNull();
        assertThat(report.failed()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.ran()).containsExactly("event codec", "rename", "exit count", "exit apply",
                "network stack (loopback): SDK");
        // Cohort and checkpoint reads, the shard's Query, the announcements and exits queued, conditional
        // commits and checkpoints, the shard's report.
        assertThat(report.awsCalls()).containsKeys("GetItem", "Query", "SendMessageBatch", "PutItem", "UpdateItem");
        assertThat(report.awsCalls().get("SendMessageBatch")).isGreaterThanOrEqualTo(2); // rename + exits
        assertThat(tripwire.connections()).as("connections made while priming").isZero();
    }
}
