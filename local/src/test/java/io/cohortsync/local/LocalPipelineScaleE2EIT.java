package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One cohort of 20,000 users on the local stack (`make local`'s wiring: the real handlers, moto, the
 * event-source pollers, a Segment stand-in), through everything the reconciler does: a 20-page full
 * sync, a second one that leaves 300 users out (1.5% exit), a rename, and diffs racing both. Segment
 * must end with Mixpanel's last word for every user, the old name's trait {@code false} on every
 * profile that ever had it {@code true}, no change accepted twice, and nothing dead-lettered.
 *
 * <p>The races are made certain, not hoped for, by disabling the reconciler's event source (as
 * {@code update-event-source-mapping --no-enabled} would) while the racing diff is sent, and made
 * likely a second time by sending another diff right after it is enabled again, while the pass runs.
 *
 * <p>Run it alone with {@code make e2e-scale} (README "Quick start"); it prints its wall time per phase.
 */
@ExtendWith(MotoExtension.class)
class LocalPipelineScaleE2EIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String COHORT = "scale-1";
    private static final String NAME = "Scale users";
    private static final String RENAMED = "Scale users (renamed)";
    private static final String TRAIT = "Mixpanel - " + NAME;
    private static final String TRAIT_RENAMED = "Mixpanel - " + RENAMED;
    private static final int USERS = 20_000;
    private static final int PAGES = 20;
    /** Left out of the second full sync: 1.5% of the cohort, far below the mass-exit guard. */
    private static final int LEFT_OUT = 300;
    private static final Duration QUIET_TIMEOUT = Duration.ofMinutes(6);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, Long> phases = new LinkedHashMap<>();
    private Instant phaseStarted = Instant.now();
    private LocalPipeline pipeline;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    @Test
    void pipeline_leavesSegmentWithMixpanelsLastWord_forA20000UserCohortThroughResyncRenameAndRaces() throws Exception {
        Instant started = Instant.now();
        phaseStarted = started;
        SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
        closeables.add(segment);
        pipeline = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0, segment.baseUrl().toString(),
                AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY,
                "scale-" + ProcessHandle.current().pid(), null, Duration.ofSeconds(1), System.out));
        closeables.add(pipeline);
        List<String> users = Exports.users("s", 0, USERS);
        List<String> newcomers = Exports.users("t", 0, 100);

        // given a first full sync of 20,000 users in 20 pages of 1,000
        fullSync("sess-a", NAME, users);
        awaitQuiet("first full sync (20,000 enters)");
        // (every user entered once and nothing else happened: exactly one identify each)
        assertThat(segment.acceptedIdentifies()).hasSize(USERS);

        // when a second full sync leaves the first 300 users out and brings 100 newcomers; its exit pass is
        // held pending (reconciler disabled) while an add_members lists 25 of the left-out users again
        List<String> second = Stream.concat(users.subList(LEFT_OUT, USERS).stream(), newcomers.stream()).toList();
        List<String> readdedWhilePending = users.subList(0, 25);
        List<String> readdedWhileRunning = users.subList(25, 50);
        pipeline.pauseReconciler();
        fullSync("sess-b", NAME, second);
        sync(Exports.add(COHORT, NAME, readdedWhilePending));
        pipeline.resumeReconciler();
        // and 25 more are listed again while the pass runs
        sync(Exports.add(COHORT, NAME, readdedWhileRunning));
        awaitQuiet("second full sync, its exit pass and the racing add_members");

        // and the cohort is renamed (a request under the new name: 10 users enter), with 50 members removed
        // while the rename's re-announcement is pending, and 50 more while it runs
        List<String> enteredUnderNewName = Exports.users("r", 0, 10);
        List<String> removedWhilePending = users.subList(300, 350);
        List<String> removedWhileRunning = users.subList(350, 400);
        pipeline.pauseReconciler();
        sync(Exports.add(COHORT, RENAMED, enteredUnderNewName));
        sync(Exports.remove(COHORT, RENAMED, removedWhilePending));
        pipeline.resumeReconciler();
        sync(Exports.remove(COHORT, RENAMED, removedWhileRunning));
        awaitQuiet("rename of 19,850 members and the racing remove_members");

        // then every profile ends with Mixpanel's last word
        Map<String, Boolean> member = new HashMap<>();
        users.forEach(u -> member.put(u, true));
        users.subList(50, LEFT_OUT).forEach(u -> member.put(u, false)); // left out, not listed again
        removedWhilePending.forEach(u -> member.put(u, false));
        removedWhileRunning.forEach(u -> member.put(u, false));
        newcomers.forEach(u -> member.put(u, true));
        enteredUnderNewName.forEach(u -> member.put(u, true));
        Map<String, Map<String, JsonNode>> traits = segment.finalTraits();
        assertThat(traits).hasSize(member.size());
        List<String> wrong = new ArrayList<>();
        member.forEach((user, isMember) -> {
            Map<String, JsonNode> t = traits.get(user);
            JsonNode renamed = t == null ? null : t.get(TRAIT_RENAMED);
            JsonNode old = t == null ? null : t.get(TRAIT);
            boolean newOk = isMember ? renamed != null && renamed.asBoolean()
                    : renamed == null || !renamed.asBoolean(); // exited before the rename: never got the new trait
            boolean oldOk = enteredUnderNewName.contains(user) ? old == null : old != null && !old.asBoolean();
            if (!newOk || !oldOk) {
                wrong.add(user + " " + t);
            }
        });
        assertThat(wrong).as("profiles that differ from Mixpanel's last word").isEmpty();
        // those who left before the rename were never announced under the new name; those removed during it
        // have both traits false
        users.subList(50, LEFT_OUT).forEach(u -> assertThat(traits.get(u)).doesNotContainKey(TRAIT_RENAMED));
        Stream.concat(removedWhilePending.stream(), removedWhileRunning.stream())
                .forEach(u -> assertThat(traits.get(u).get(TRAIT_RENAMED).asBoolean()).as(u).isFalse());

        // and no profile that ever had the old name's trait true keeps it
        Set<String> hadOldTrue = new HashSet<>();
        for (JsonNode m : segment.acceptedIdentifies()) {
            if (m.path("traits").path(TRAIT).asBoolean(false)) {
                hadOldTrue.add(m.path("userId").asText());
            }
        }
        assertThat(hadOldTrue).hasSize(USERS + newcomers.size());
        hadOldTrue.forEach(u -> assertThat(traits.get(u).get(TRAIT).asBoolean()).as(u).isFalse());

        // and no change was accepted twice: one accepted message per messageId, and per user at most one
        // identify per change it went through (plus, where a rename's identify was overtaken, the old
        // name's false on its own)
        Set<String> ids = new HashSet<>();
        Map<String, Integer> perUser = new HashMap<>();
        for (JsonNode m : segment.acceptedIdentifies()) {
            assertThat(m.path("messageId").asText()).isNotBlank();
            assertThat(ids.add(m.path("messageId").asText())).as("messageId accepted twice").isTrue();
            perUser.merge(m.path("userId").asText(), 1, Integer::sum);
        }
        Map<String, Integer> most = new HashMap<>();
        users.forEach(u -> most.put(u, 2)); // enter, rename (or exit)
        readdedWhileRunning.forEach(u -> most.put(u, 4)); // enter, maybe exit and enter again, rename
        removedWhileRunning.forEach(u -> most.put(u, 3)); // enter, rename (or its old-name false alone), exit
        // enter, exit (both names false); and, when a rename job already in flight as the reconciler paused read
        // the user before the exit committed, its overtaken re-announcement's old-name false alone (README "The
        // rename rule"; seen under load: the job was polled before the pause and waited for the rename's commit)
        removedWhilePending.forEach(u -> most.put(u, 3));
        newcomers.forEach(u -> most.put(u, 2));
        enteredUnderNewName.forEach(u -> most.put(u, 1));
        List<String> over = new ArrayList<>();
        perUser.forEach((user, n) -> {
            if (n > most.get(user)) {
                // what each of that user's accepted identifies said, so a failure shows which change came twice
                over.add(user + " (at most " + most.get(user) + "): " + segment.acceptedIdentifies().stream()
                        .filter(m -> m.path("userId").asText().equals(user))
                        .map(m -> m.path("traits") + " " + m.path("messageId").asText() + " @" + m.path("timestamp").asText())
                        .toList());
            }
        });
        assertThat(over).as("users with more identifies accepted than changes they went through").isEmpty();

        // and nothing was lost on the way
        assertThat(segment.droppedOverLimit()).isZero();
        assertThat(segment.droppedInvalid()).isZero();
        assertThat(pipeline.deadLetters()).as("delta DLQ").isZero();
        assertThat(pipeline.reconcileDeadLetters()).as("reconcile DLQ").isZero();

        // and the status shows the reconciler's work: the held-pending add spared its 25, so at most 275 exits
        JsonNode reconcile = JSON.readTree(status().body()).path("reconcile");
        JsonNode exitPass = find(reconcile, "EXIT", "sess-b");
        assertThat(exitPass.path("done").asBoolean()).isTrue();
        assertThat(exitPass.path("exits").asLong()).isBetween(250L, 275L);
        JsonNode rename = find(reconcile, "RENAME", null);
        assertThat(rename.path("done").asBoolean()).isTrue();
        // members on the old name when it ran: 19,700 kept + 50 listed again + 100 newcomers, less the 50
        // removed before it ran; the 50 removed while it ran may or may not have been re-announced first
        long membersAtRename = USERS - LEFT_OUT + 50 + newcomers.size() - removedWhilePending.size();
        assertThat(rename.path("renamed").asLong()).isBetween(membersAtRename - removedWhileRunning.size(), membersAtRename);

        phases.put("total", Duration.between(started, Instant.now()).toMillis());
        System.out.println("scale e2e wall time (ms): " + phases + "; reconciler invocations "
                + pipeline.reconcilerInvocations() + ", sender invocations " + pipeline.senderInvocations()
                + ", identifies accepted " + segment.acceptedIdentifies().size());
    }

    private static JsonNode find(JsonNode reconcile, String work, String session) {
        for (JsonNode r : reconcile) {
            if (r.path("work").asText().equals(work) && (session == null || session.equals(r.path("sessionId").asText()))) {
                return r;
            }
        }
        throw new AssertionError("no " + work + " in " + reconcile);
    }

    private void fullSync(String session, String name, List<String> ids) throws Exception {
        int pageSize = (ids.size() + PAGES - 1) / PAGES;
        for (int p = 0; p < PAGES; p++) {
            sync(Exports.members(COHORT, name, session, p + 1, PAGES,
                    ids.subList(p * pageSize, Math.min(ids.size(), (p + 1) * pageSize))));
        }
    }

    /** Posts like Mixpanel: a 5xx is retried (Mixpanel retries 5 times), anything else must be a success. */
    private void sync(String body) throws Exception {
        HttpResponse<String> r = null;
        for (int attempt = 1; attempt <= 5; attempt++) {
            r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pipeline.port() + "/mixpanel"))
                    .timeout(Duration.ofSeconds(60))
                    .header("content-type", "application/json")
                    .header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() < 500) {
                break;
            }
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).path("status").asText()).isEqualTo("success");
    }

    private HttpResponse<String> status() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pipeline.port()
                        + "/mixpanel/status?project=" + Exports.PROJECT + "&cohort=" + COHORT))
                .header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Polls until both queues are empty and their pollers idle, twice in a row; records the phase's time. */
    private void awaitQuiet(String phase) throws InterruptedException {
        Instant deadline = Instant.now().plus(QUIET_TIMEOUT);
        int quiet = 0;
        while (quiet < 2) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError(phase + ": pipeline still busy after " + QUIET_TIMEOUT + " (" + pipeline.describe() + ")");
            }
            quiet = pipeline.idle() ? quiet + 1 : 0;
            Thread.sleep(250);
        }
        // from the end of the previous phase: its requests and the pipeline's work after them
        phases.put(phase, Duration.between(phaseStarted, Instant.now()).toMillis());
        phaseStarted = Instant.now();
    }
}
