package io.cohortsync.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.POWER_NAME;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code status} against moto, on a table written by the functions' own stores: a completed full sync
 * whose exit pass is half applied, a newer full sync with one of its two pages in, and the history of
 * those calls with what the sender added.
 */
@ExtendWith(MotoExtension.class)
class StatusIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant T0 = Instant.parse("2026-11-30T09:00:00Z");

    /** Epoch 1 completed by session s-1 (exit pass applying, shards 0-8 done); session s-2 has page 1 of 2. */
    private static void seed(AwsStack stack) {
        Clock clock = Clock.systemUTC();
        Duration ttl = Duration.ofDays(3);
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, ttl, clock);
        cohorts.create(POWER, CohortState.first(POWER_NAME));
        assertThat(cohorts.completeSession(POWER, CohortState.first(POWER_NAME), new SessionKey(POWER, "s-1"), 1)).isTrue();
        DynamoSessionStore sessions = new DynamoSessionStore(stack.dynamo, stack.tableName, ttl, clock);
        sessions.recordPage(new SessionKey(POWER, "s-1"), 1, 1, Set.of("alice@example.com", "bob@example.com"));
        sessions.recordPage(new SessionKey(POWER, "s-2"), 1, 2, Set.of("alice@example.com"));
        DynamoSyncHistory history = new DynamoSyncHistory(stack.dynamo, stack.tableName, ttl, clock);
        history.record(entry(T0, "s-1", 1, 1, "RECONCILING", 2, 0));
        history.addDelivered(POWER, T0, 2, 0, 0);
        history.record(entry(T0.plusSeconds(60), null, 1, 1, "NONE", 0, 1)); // a remove_members
        history.record(entry(T0.plusSeconds(120), "s-2", 1, 2, "INCOMPLETE", 0, 0));
        DynamoReconcileStore reconcile = new DynamoReconcileStore(stack.dynamo, stack.tableName, ttl, clock);
        for (int shard = 0; shard < 16; shard++) {
            ReconcileJob count = new ReconcileJob(ReconcileJob.Kind.EXIT_COUNT, POWER, 1, "s-1", shard, T0);
            reconcile.report(count, new Checkpoint(1, null, null, 10, 10, 1, 0, true));
        }
        reconcile.decide(new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, POWER, 1, "s-1", 0, T0),
                io.cohortsync.domain.ReconcileStore.Phase.APPLY);
        for (int shard = 0; shard < 9; shard++) {
            ReconcileJob apply = new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, POWER, 1, "s-1", shard, T0);
            // The cursor is a distinct id: status must never print it.
            Checkpoint cp = new Checkpoint(0, null, null, 0, 0, 0, 0, false).advanced("carol@example.com", 10, 0, 1, 1).finished();
            assertThat(reconcile.save(apply, Checkpoint.START, cp)).isTrue();
            reconcile.report(apply, cp);
        }
        ReconcileJob running = new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, POWER, 1, "s-1", 9, T0);
        assertThat(reconcile.save(running, Checkpoint.START, Checkpoint.START.advanced("dave@example.com", 4, 0, 0, 0))).isTrue();
    }

    private static HistoryEntry entry(Instant at, String session, int page, int pages, String sessionStatus, int enters,
                                      int exits) {
        return HistoryEntry.ofCall(POWER, at, "req-" + at.getEpochSecond(),
                new HistoryEntry.Asked(session == null ? "remove_members" : "members", session, page, pages, 2, Map.of(),
                        null, List.of()),
                new HistoryEntry.Changed(enters, exits, 0, 0, sessionStatus, 0),
                new HistoryEntry.Answered(200, "success", 41.5));
    }

    private static CliRun status(AwsStack stack, String... more) {
        String[] all = new String[7 + more.length];
        System.arraycopy(new String[]{"status", "--table", stack.tableName, "--project", POWER.projectId(), "--cohort",
                POWER.cohortId()}, 0, all, 0, 7);
        System.arraycopy(more, 0, all, 7, more.length);
        CliRun r = CliRun.run(all);
        assertThat(r.all()).doesNotContain("@example.com");
        return r;
    }

    @Test
    void status_showsRecentSyncs_unfinishedSessions_andTheReconcileInProgress(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = status(stack);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("status 2195193/1457721",
                "cohort \"Power users\": name version 1, epoch 1 (1 full sync completed); exit pass of epoch 1 running",
                "recent syncs (newest first, 3 of at most 10):",
                "full sync s-2 unfinished: 1 of 2 pages received",
                "EXIT #1 session s-1  APPLY  16/16 shards counted, 9/16 shards done",
                "(in progress)", "EXIT_APPLY checkpoints:", " 00:done/10", " 09:4", " 0f:-");
        assertThat(r.out().lines().filter(l -> l.contains("Z  members ") && l.contains("page 1/1")).findFirst().orElseThrow())
                .contains("+2 -0", "RECONCILING", "200 success", "sent 2, rejected 0");
    }

    @Test
    void status_printsOneJsonDocument_whenOutputJson(AwsStack stack) throws Exception {
        // given
        seed(stack);

        // when
        CliRun r = status(stack, "--output", "json", "--limit", "2");

        // then stdout is exactly one JSON document
        assertThat(r.code()).isZero();
        JsonNode doc = JSON.readTree(r.out());
        assertThat(doc.path("exitCode").asInt()).isZero();
        assertThat(doc.path("state").path("name").asText()).isEqualTo(POWER_NAME);
        assertThat(doc.path("state").path("reconciling").asBoolean()).isTrue();
        assertThat(doc.path("history")).hasSize(2);
        assertThat(doc.path("history").get(0).path("sessionId").asText()).isEqualTo("s-2");
        assertThat(doc.path("unfinishedFullSyncs").get(0).path("pagesReceived").asInt()).isEqualTo(1);
        JsonNode exit = doc.path("reconcile").get(0);
        assertThat(exit.path("work").asText()).isEqualTo("EXIT");
        assertThat(exit.path("phase").asText()).isEqualTo("APPLY");
        assertThat(exit.path("shardsDone").asInt()).isEqualTo(9);
        assertThat(exit.path("inProgress").asBoolean()).isTrue();
        assertThat(exit.path("checkpoints")).hasSize(16);
        assertThat(exit.path("checkpoints").get(9).path("scanned").asLong()).isEqualTo(4);
        assertThat(exit.path("checkpoints").get(15).path("started").asBoolean()).isFalse();
    }

    @Test
    void status_failsWithOneLineAndExit2_whenTheCohortIsUnknown(AwsStack stack) throws Exception {
        // given nothing stored for cohort 404
        seed(stack);

        // when
        CliRun text = CliRun.run("status", "--table", stack.tableName, "--project", POWER.projectId(), "--cohort", "404");
        CliRun json = CliRun.run("status", "--table", stack.tableName, "--project", POWER.projectId(), "--cohort", "404",
                "--output", "json");

        // then
        assertThat(text.code()).isEqualTo(2);
        assertThat(text.out()).isEmpty();
        assertThat(text.err()).startsWith("cohort-sync: no cohort 2195193/404 in table " + stack.tableName).hasLineCount(1);
        assertThat(json.code()).isEqualTo(2);
        assertThat(JSON.readTree(json.out()).path("error").path("message").asText()).startsWith("no cohort 2195193/404");
    }
}
