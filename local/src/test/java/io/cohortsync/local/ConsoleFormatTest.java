package io.cohortsync.local;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The console's short lines, from log lines as the functions printed them in a `make local` run. */
class ConsoleFormatTest {
    /** The first page of the sample full sync (events/mixpanel/members-page1.json). */
    private static final String WEBHOOK = "{\"timestamp\":\"2026-12-01T15:58:33.101983977Z\",\"level\":\"INFO\",\"message\":\"webhook handled\",\"function\":\"webhook\",\"requestId\":\"e08fb7dc-b818-4644-8058-047408c0b10f\",\"bodyBytes\":1165,\"action\":\"members\",\"projectId\":\"2195193\",\"cohortId\":\"1457721\",\"sessionId\":\"7f0d2c1e-sample\",\"page\":1,\"totalPages\":2,\"membersFrom\":\"parameters\",\"membersReceived\":3,\"membersSkipped\":0,\"status\":200,\"durationMs\":907.9,\"enters\":3,\"exits\":0,\"unchanged\":0,\"deltasQueued\":3,\"session\":\"INCOMPLETE\",\"pagesReceived\":1,\"outcome\":\"success\"}";
    private static final String SENDER = "{\"timestamp\":\"2026-12-01T15:58:38.674302395Z\",\"level\":\"INFO\",\"message\":\"sender batch handled\",\"function\":\"sender\",\"records\":2,\"deltas\":6,\"duplicates\":0,\"poison\":0,\"sent\":5,\"stale\":1,\"neverCommitted\":0,\"requeued\":0,\"rejected\":0,\"deadLettered\":0,\"segmentRequests\":1,\"segmentRequestsByStatus\":{\"200\":1},\"retries\":0,\"splits\":0,\"segmentBytes\":1017,\"failures\":0,\"endToEndLagMs\":6350,\"cohortIds\":[\"1457721\"],\"durationMs\":134.5}";
    private static final String RECONCILER = "{\"timestamp\":\"2026-12-01T15:58:34.504031769Z\",\"level\":\"INFO\",\"message\":\"reconcile job handled\",\"function\":\"reconciler\",\"sqsMessageId\":\"6be2e159-ca34-4d76-bd87-8fa696c46da1\",\"receiveCount\":1,\"kind\":\"EXIT_COUNT\",\"projectId\":\"2195193\",\"cohortId\":\"1457721\",\"generation\":1,\"sessionId\":\"7f0d2c1e-sample\",\"shard\":4,\"durationMs\":466.8,\"jobAgeMs\":1111,\"status\":\"DONE\",\"chunks\":1,\"scanned\":0,\"matched\":0,\"changed\":0,\"total\":{\"phase\":\"COUNTING\",\"shardsCounted\":1,\"shardsDone\":0,\"members\":0,\"matched\":0,\"changed\":0,\"scanned\":0}}";
    private static final String WEBHOOK_EMF = "{\"_aws\":{\"Timestamp\":1796140713240,\"CloudWatchMetrics\":[{\"Namespace\":\"CohortSync\",\"Dimensions\":[[\"Function\"],[\"Function\",\"Action\"]],\"Metrics\":[{\"Name\":\"WebhookRequests\",\"Unit\":\"Count\"},{\"Name\":\"Webhook2xx\",\"Unit\":\"Count\"},{\"Name\":\"Webhook4xx\",\"Unit\":\"Count\"},{\"Name\":\"Webhook5xx\",\"Unit\":\"Count\"},{\"Name\":\"Webhook401\",\"Unit\":\"Count\"},{\"Name\":\"WebhookLatency\",\"Unit\":\"Milliseconds\"},{\"Name\":\"MembersReceived\",\"Unit\":\"Count\"},{\"Name\":\"MembersSkipped\",\"Unit\":\"Count\"},{\"Name\":\"ProjectIdMissing\",\"Unit\":\"Count\"},{\"Name\":\"Enters\",\"Unit\":\"Count\"},{\"Name\":\"Exits\",\"Unit\":\"Count\"},{\"Name\":\"Unchanged\",\"Unit\":\"Count\"},{\"Name\":\"DeltasQueued\",\"Unit\":\"Count\"},{\"Name\":\"ReconcilesQueued\",\"Unit\":\"Count\"},{\"Name\":\"RenamesQueued\",\"Unit\":\"Count\"},{\"Name\":\"Marked\",\"Unit\":\"Count\"},{\"Name\":\"Rechecked\",\"Unit\":\"Count\"}]}]},\"WebhookRequests\":1.0,\"Webhook2xx\":1.0,\"Webhook4xx\":0.0,\"Webhook5xx\":0.0,\"Webhook401\":0.0,\"WebhookLatency\":907.910536,\"MembersReceived\":3.0,\"MembersSkipped\":0.0,\"ProjectIdMissing\":0.0,\"Enters\":3.0,\"Exits\":0.0,\"Unchanged\":0.0,\"DeltasQueued\":3.0,\"ReconcilesQueued\":0.0,\"RenamesQueued\":0.0,\"Marked\":0.0,\"Rechecked\":0.0,\"Function\":\"webhook\",\"Action\":\"members\"}";

    @Test
    void format_makesOneShortLine_ofAWebhookRequest() {
        assertThat(ConsoleFormat.format(WEBHOOK)).contains(
                "webhook     members         cohort 1457721  page 1/2  3 received  +3 -0  session INCOMPLETE  200  908 ms");
    }

    @Test
    void format_makesOneShortLine_ofASenderBatch() {
        assertThat(ConsoleFormat.format(SENDER)).contains(
                "sender      batch           2 messages  6 deltas  sent 5  stale 1  Segment 200×1  cohort 1457721  135 ms");
    }

    @Test
    void format_makesOneShortLine_ofAReconcileJob() {
        assertThat(ConsoleFormat.format(RECONCILER)).contains(
                "reconciler  EXIT_COUNT      cohort 1457721  shard 4  DONE  scanned 0  changed 0  COUNTING 1/16  467 ms");
    }

    @Test
    void format_namesTheWholePass_onceItIsDecided() {
        String done = RECONCILER.replace("\"phase\":\"COUNTING\"", "\"phase\":\"DONE\"");

        assertThat(ConsoleFormat.format(done).orElseThrow()).endsWith("changed 0  DONE  467 ms");
    }

    @Test
    void format_dropsEmfLines_andPassesLinesThatAreNoLogLines() {
        assertThat(ConsoleFormat.format(WEBHOOK_EMF)).isEmpty();
        assertThat(ConsoleFormat.format("cohort-sync ready: http://127.0.0.1:3000/mixpanel")).contains(
                "cohort-sync ready: http://127.0.0.1:3000/mixpanel");
        assertThat(ConsoleFormat.format("{not json")).contains("{not json");
    }

    @Test
    void format_keepsMessageAndScalarFields_ofOtherLogLines() {
        String line = "{\"timestamp\":\"2026-12-01T15:58:33Z\",\"level\":\"WARN\",\"message\":\"sync history not updated\","
                + "\"function\":\"sender\",\"cohortId\":\"1457721\",\"error\":\"DependencyUnavailableException\"}";

        assertThat(ConsoleFormat.format(line)).contains("sender      WARN  sync history not updated"
                + "  cohortId=1457721  error=DependencyUnavailableException");
    }

    @Test
    void format_showsTheErrorAndStatus_ofARefusedRequest() {
        String line = "{\"timestamp\":\"t\",\"level\":\"WARN\",\"message\":\"webhook handled\",\"function\":\"webhook\","
                + "\"requestId\":\"r\",\"status\":401,\"durationMs\":2.4,\"errorMessage\":\"invalid or missing credentials\","
                + "\"outcome\":\"failure\"}";

        assertThat(ConsoleFormat.format(line)).contains("webhook     unknown         401  invalid or missing credentials  2 ms");
    }

    @Test
    void consoleStream_writesWholeFormattedLines_andJsonPassesEverythingAsPrinted() {
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        PrintStream text = ConsoleStream.console(new PrintStream(terminal, true, StandardCharsets.UTF_8), ConsoleFormat.LogFormat.TEXT);
        text.print(WEBHOOK.substring(0, 40));
        text.println(WEBHOOK.substring(40));
        text.println(WEBHOOK_EMF);
        text.println("identify userId=u-1 traits={}");

        assertThat(terminal.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
                ConsoleFormat.format(WEBHOOK).orElseThrow(), "identify userId=u-1 traits={}");

        PrintStream raw = new PrintStream(new ByteArrayOutputStream());
        assertThat(ConsoleStream.console(raw, ConsoleFormat.LogFormat.JSON)).isSameAs(raw);
    }

    @Test
    void logFormat_acceptsTextOrJson_only() {
        assertThat(ConsoleFormat.LogFormat.of(null)).isEqualTo(ConsoleFormat.LogFormat.TEXT);
        assertThat(ConsoleFormat.LogFormat.of("text")).isEqualTo(ConsoleFormat.LogFormat.TEXT);
        assertThat(ConsoleFormat.LogFormat.of("json")).isEqualTo(ConsoleFormat.LogFormat.JSON);
        assertThatThrownBy(() -> ConsoleFormat.LogFormat.of("yaml")).hasMessageContaining("LOG_FORMAT must be text");
    }
}
