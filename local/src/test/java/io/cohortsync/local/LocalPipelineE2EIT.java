package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.JsonFields;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole pipeline end to end, as `make local` runs it: HTTP into the API Gateway stand-in, the real
 * webhook handler, moto's DynamoDB and SQS, the event-source pollers, the real sender and reconciler
 * handlers, and the Segment stand-in (or the local sink). Asserts what Mixpanel was answered and what
 * Segment ends with. A full sync's exits and a rename's re-announcements happen in the reconciler after
 * the request that started them was answered, so every check waits for both queues to drain.
 */
@ExtendWith(MotoExtension.class)
class LocalPipelineE2EIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final String POWER = "Power users (30d)";
    private static final String CHURN = "Churn risk ⚠";
    private static final String CHURN_RENAMED = "Churn risk (renamed) ⚠";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private LocalPipeline pipeline;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private LocalPipeline start(String segmentEndpoint, Path identifies, PrintStream console) throws IOException {
        LocalPipeline p = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0, segmentEndpoint,
                AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY,
                "e2e-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet(), identifies, Duration.ofSeconds(1),
                console));
        closeables.add(p);
        return p;
    }

    private HttpResponse<String> post(String body, String user, String password) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pipeline.port() + "/mixpanel"))
                .timeout(Duration.ofSeconds(30))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (user != null) {
            request.header("authorization", ApiGatewayEvents.basic(user, password));
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Posts like Mixpanel: expects success; every request is also retried once, as Mixpanel's retries would. */
    private void sync(String body) throws Exception {
        for (int attempt = 0; attempt < 2; attempt++) {
            HttpResponse<String> r = post(body, AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode envelope = JSON.readTree(r.body());
            assertThat(envelope.path("status").asText()).isEqualTo("success");
            assertThat(envelope.path("action").asText()).isEqualTo(JSON.readTree(body).path("action").asText());
            assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        }
    }

    /** Polls until both queues (reconcile, then delta) are empty and their pollers idle, twice in a row. */
    private void awaitQuiet(Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        int quiet = 0;
        while (quiet < 2) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("pipeline still busy after " + timeout + " (" + pipeline.describe() + ")");
            }
            quiet = pipeline.idle() ? quiet + 1 : 0;
            Thread.sleep(250);
        }
    }

    @Test
    void pipeline_leavesSegmentWithTheMembershipMixpanelLastReported() throws Exception {
        SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        closeables.add(segment);
        pipeline = start(segment.baseUrl().toString(), null, System.out);

        // given a 3-page full sync of 1,200 users, retried and then restarted from the top
        List<String> power = Exports.users("e", 0, 1200);
        List<String> pages = List.of(
                Exports.members("p1", POWER, "sess-1", 1, 3, power.subList(0, 400)),
                Exports.members("p1", POWER, "sess-1", 2, 3, power.subList(400, 800)),
                Exports.members("p1", POWER, "sess-1", 3, 3, power.subList(800, 1200)));
        for (String page : pages) {
            sync(page);
        }
        // Segment has a bad moment while the first deltas are being sent
        segment.failNext(1, 429, 1);
        segment.failNext(1, 503);
        for (String page : pages) {
            sync(page);
        }
        // then diffs: 50 enter, 100 leave, 20 of those come back
        List<String> newcomers = Exports.users("f", 0, 50);
        sync(Exports.add("p1", POWER, newcomers));
        sync(Exports.remove("p1", POWER, power.subList(0, 100)));
        sync(Exports.add("p1", POWER, power.subList(0, 20)));
        // and a second cohort: 30 enter, then a one-page full sync keeps only 10 of them
        List<String> churn = Exports.users("g", 0, 30);
        sync(Exports.add("p2", CHURN, churn));
        sync(Exports.members("p2", CHURN, "sess-2", 1, 1, churn.subList(0, 10)));
        // (the 20 exits happen in the reconciler, after that page was answered; Mixpanel renames a cohort
        // between syncs, so the rename comes once they are done. A rename racing a pending exit pass is
        // LocalPipelineScaleE2EIT's business.)
        awaitQuiet(Duration.ofSeconds(90));
        // the second cohort is renamed in Mixpanel: its members move to the new trait
        sync(Exports.add("p2", CHURN_RENAMED, List.of()));
        // an incomplete full sync of the first cohort (page 2 of 2 never arrives) changes nothing
        sync(Exports.members("p1", POWER, "sess-3", 1, 2, power.subList(500, 510)));

        // Mixpanel's failures are answered per spec and leave no trace
        HttpResponse<String> unauthorized = post(Exports.add("p1", POWER, List.of("x@example.com")), "mixpanel", "wrong");
        assertThat(unauthorized.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(unauthorized.body()).path("error").path("code").asInt()).isEqualTo(401);
        HttpResponse<String> malformed = post("{\"action\":\"members\"", AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD);
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(malformed.body()).path("status").asText()).isEqualTo("failure");

        awaitQuiet(Duration.ofSeconds(120));

        // then Segment's last accepted value per (user, trait) is what Mixpanel last reported
        Map<String, Boolean> expectedPower = new HashMap<>();
        power.forEach(u -> expectedPower.put(u, true));
        power.subList(20, 100).forEach(u -> expectedPower.put(u, false));
        newcomers.forEach(u -> expectedPower.put(u, true));
        // after the rename: the old trait is false for everyone, the new one true for the 10 members
        Map<String, Boolean> expectedChurn = new HashMap<>();
        churn.forEach(u -> expectedChurn.put(u, false));
        Map<String, Boolean> expectedRenamed = new HashMap<>();
        churn.subList(0, 10).forEach(u -> expectedRenamed.put(u, true));

        Map<String, Map<String, JsonNode>> traits = segment.finalTraits();
        assertTraits(traits, "Mixpanel - " + POWER, expectedPower);
        assertTraits(traits, "Mixpanel - " + CHURN, expectedChurn);
        assertTraits(traits, "Mixpanel - " + CHURN_RENAMED, expectedRenamed);
        churn.subList(10, 30).forEach(u -> assertThat(traits.get(u)).doesNotContainKey("Mixpanel - " + CHURN_RENAMED));
        assertThat(traits.keySet()).doesNotContain("x@example.com");
        assertThat(segment.droppedOverLimit()).isZero();
        assertThat(segment.droppedInvalid()).isZero();
        assertThat(pipeline.deadLetters()).isZero();
        assertThat(pipeline.reconcileDeadLetters()).isZero();
        // no change reached Segment twice in effect (one accepted message per messageId), and at most
        // every real change was sent: a change already superseded when the sender saw it is dropped.
        // Fewest possible: one per power user (1,250), one exit per churned user (20), one rename per
        // kept churn user (10) - their first "enter" is dropped as stale when the rename lands first.
        Set<String> ids = new HashSet<>();
        segment.acceptedIdentifies().forEach(m -> {
            assertThat(m.path("messageId").asText()).isNotBlank();
            assertThat(ids.add(m.path("messageId").asText())).isTrue();
        });
        assertThat(ids.size()).isBetween(1250 + 20 + 10, 1200 + 50 + 100 + 20 + 30 + 20 + 10);

        // and the sync history shows each call, and the reconciler's work as entries of its own
        JsonNode status = JSON.readTree(status("p2").body());
        JsonNode history = status.path("history");
        assertThat(history).extracting(e -> e.path("action").asText())
                .containsExactly("rename", "add_members", "reconcile", "members", "add_members");
        assertThat(history.get(0).path("renamed").asInt()).isEqualTo(10);
        assertThat(JsonFields.count(history.get(1), "members")).isZero();
        assertThat(history.get(2).path("exits").asInt()).isEqualTo(20);
        assertThat(history.get(2).path("session").asText()).isEqualTo("APPLIED");
        assertThat(history.get(3).path("session").asText()).isEqualTo("RECONCILING");
        assertThat(JsonFields.count(history.get(3), "exits")).isZero();
        assertThat(history.get(4).path("enters").asInt()).isEqualTo(30);
        // what the sender delivered is added to the webhook call whose deltas it sent: of the 30 enters,
        // at least the 10 kept members' (their rename came after the sender was done with them); the
        // other 20 may have been dropped as stale once their exit had been committed
        assertThat(history.get(4).path("sent").asLong()).isBetween(10L, 30L);
        assertThat(status.path("reconcile")).extracting(r -> r.path("work").asText(), r -> r.path("done").asBoolean())
                .containsExactlyInAnyOrder(Tuple.tuple("EXIT", true),
                        Tuple.tuple("RENAME", true));
    }

    private HttpResponse<String> status(String cohort) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pipeline.port()
                        + "/mixpanel/status?project=" + Exports.PROJECT + "&cohort=" + cohort))
                .header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void connections_reachTheirOwnSegmentSources_withTheirOwnCredentials(AwsStack aws) throws Exception {
        SegmentStandIn defaultSource = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        SegmentStandIn euSource = SegmentStandIn.start("wk-eu-source");
        closeables.add(defaultSource);
        closeables.add(euSource);
        String prefix = "e2e-conn-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet();
        pipeline = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0, defaultSource.baseUrl().toString(),
                AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY, prefix, null,
                Duration.ofSeconds(1), System.out));
        closeables.add(pipeline);
        // given a second connection "eu": its own webhook credentials and its own Segment source
        aws.secrets.putSecretValue(b -> b.secretId(prefix + "/webhook").secretString(
                "{\"username\":\"mixpanel\",\"password\":\"local-secret\","
                        + "\"connections\":{\"eu\":{\"username\":\"mixpanel-eu\",\"password\":\"eu-pw\"}}}"));
        aws.secrets.putSecretValue(b -> b.secretId(prefix + "/segment").secretString(
                "{\"writeKey\":\"" + AwsStack.SEGMENT_WRITE_KEY + "\",\"connections\":{\"eu\":"
                        + "{\"writeKey\":\"wk-eu-source\",\"endpoint\":\"" + euSource.baseUrl() + "\"}}}"));
        // (nothing has read either secret yet: both functions read secrets lazily, on first use)
        // when the same cohort is synced on both connections with different members
        sync(Exports.add("x1", POWER, Exports.users("dflt", 0, 3)));
        HttpResponse<String> eu = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + pipeline.port() + "/mixpanel/eu"))
                .header("authorization", ApiGatewayEvents.basic("mixpanel-eu", "eu-pw"))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Exports.add("x1", POWER, Exports.users("eu", 0, 2))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(eu.statusCode()).as(eu.body()).isEqualTo(200);
        awaitQuiet(Duration.ofSeconds(60));
        // then each source got exactly its connection's users
        assertThat(defaultSource.finalTraits().keySet()).containsExactlyInAnyOrderElementsOf(Exports.users("dflt", 0, 3));
        assertThat(euSource.finalTraits().keySet()).containsExactlyInAnyOrderElementsOf(Exports.users("eu", 0, 2));
    }

    @Test
    void dryRun_reportsWhatWouldBeSent_andSendsNothing() throws Exception {
        SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        closeables.add(segment);
        pipeline = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0, segment.baseUrl().toString(),
                AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY,
                "e2e-dry-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet(), null, Duration.ofSeconds(1),
                System.out, Map.of("DRY_RUN", "true")));
        closeables.add(pipeline);
        sync(Exports.add("d1", POWER, Exports.users("d", 0, 25)));
        awaitQuiet(Duration.ofSeconds(60));
        assertThat(segment.requests()).isEmpty();
        JsonNode history = JSON.readTree(status("d1").body()).path("history");
        assertThat(history.get(0).path("wouldSend").asInt()).isEqualTo(25);
        assertThat(JsonFields.count(history.get(0), "sent")).isZero();
    }

    private static void assertTraits(Map<String, Map<String, JsonNode>> traits, String trait, Map<String, Boolean> expected) {
        expected.forEach((user, member) -> {
            Map<String, JsonNode> userTraits = traits.get(user);
            assertThat(userTraits).as("traits of a user of " + trait).isNotNull();
            assertThat(userTraits.get(trait)).as(trait + " of a user").isNotNull();
            assertThat(userTraits.get(trait).asBoolean()).as(trait + " of " + user).isEqualTo(member);
        });
    }

    @Test
    void printedCurl_postsTheSampleExports_andIdentifiesReachTheLocalSink() throws Exception {
        assertThat(commandOnPath("curl")).as("curl is needed to run the README's printed command").isTrue();
        Path identifies = Files.createTempFile("identifies", ".jsonl");
        Files.delete(identifies);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        pipeline = start(null, identifies, new PrintStream(console, true, StandardCharsets.UTF_8));

        // when the command `make local` prints is pasted into a shell at the repository root
        Process curl = new ProcessBuilder("bash", "-c", pipeline.curlCommand(LocalPipeline.literalCredentials(
                AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))).directory(repositoryRoot().toFile()).redirectErrorStream(true).start();
        String output;
        try {
            assertThat(curl.waitFor(60, TimeUnit.SECONDS)).isTrue();
            output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            curl.destroyForcibly();
        }
        // then Mixpanel-style answers come back, one per sample
        assertThat(output.lines().filter(l -> l.contains("\"status\":\"success\"")).count()).as(output).isEqualTo(4);
        awaitQuiet(Duration.ofSeconds(60));

        // and the sink printed and recorded the identifies: u-1001 entered then left, the others are members
        Map<String, Boolean> last = new HashMap<>();
        for (String line : Files.readAllLines(identifies)) {
            JsonNode m = JSON.readTree(line);
            assertThat(m.path("type").asText()).isEqualTo("identify");
            last.put(m.path("userId").asText(), m.path("traits").path("Mixpanel - Power users (30d)").asBoolean());
        }
        assertThat(last).containsEntry("u-1001", false).containsEntry("u-1002", true).containsEntry("u-1008", true)
                .hasSize(8);
        assertThat(console.toString(StandardCharsets.UTF_8)).contains("identify userId=u-1007");
        // and the sample full sync's exit pass ran in the reconciler, to its end: all 16 shards counted, nobody
        // to exit (the cohort was empty before it), so it was done without an apply pass
        JsonNode reconcile = JSON.readTree(status("1457721").body()).path("reconcile");
        assertThat(reconcile).singleElement().satisfies(r -> {
            assertThat(r.path("work").asText()).isEqualTo("EXIT");
            assertThat(r.path("sessionId").asText()).isEqualTo("7f0d2c1e-sample");
            assertThat(r.path("shardsCounted").asInt()).isEqualTo(16);
            assertThat(JsonFields.count(r, "exits")).isZero();
            assertThat(r.path("done").asBoolean()).isTrue();
        });
        assertThat(pipeline.reconcilerInvocations()).isGreaterThanOrEqualTo(16);
        assertThat(pipeline.deadLetters() + pipeline.reconcileDeadLetters()).isZero();
    }

    private static boolean commandOnPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(dir, command).canExecute()) {
                return true;
            }
        }
        return false;
    }

    private static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("events/mixpanel"))) {
                return dir;
            }
        }
        throw new IllegalStateException("repository root not found");
    }
}
