package io.cohortsync.reconciler;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.JsonFields;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SqsEvents;
import io.cohortsync.testkit.Tee;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import static io.cohortsync.reconciler.Pipeline.NAME;
import static io.cohortsync.reconciler.Pipeline.cohort;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reconciler function on moto, through the real {@link ReconcilerHandler} and the real adapters,
 * with the real webhook in front (README "Full syncs, renames and the reconciler"): exit passes in small
 * checkpointed chunks, resumption after a crash between any two steps, requests that race a pending
 * pass or a rename, the mass-exit hold, the migration of an earlier version's state, and the exact
 * batch answers Lambda needs.
 */
@ExtendWith(MotoExtension.class)
class ReconcilerIT {
    /** Small chunks and passes, one chunk per invocation: every job goes through many checkpoints and continuations. */
    private static final Map<String, String> TINY = Map.of("RECONCILE_CHUNK", "5", "RECONCILE_MAX_CHUNKS", "1",
            "RECONCILE_PASS_IDS", "50");
    private static final Set<String> PER_RECORD_LINES = Set.of("reconcile job handled",
            "reconcile job failed: it comes back and resumes from its checkpoint",
            "full sync held: it would exit too many members; nothing was exited",
            "reconcile message is not a job: left for the DLQ");

    private PrintStream originalOut;
    private PrintStream out;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    @BeforeEach
    void captureOutput() {
        // Both functions log to stdout (captured when their handlers are built): capture it, still showing it.
        originalOut = System.out;
        out = new PrintStream(new Tee(originalOut, captured), true, StandardCharsets.UTF_8);
        System.setOut(out);
    }

    @AfterEach
    void outputIsValidEmfAndCarriesNoUserData() {
        System.setOut(originalOut);
        String logs = captured.toString(StandardCharsets.UTF_8);
        // no distinct id (all test users are emails at example.com, or crm-… mapped ids), no PII, no secret
        assertThat(logs).as("captured output").doesNotContain("@example.com", "@mail.example.org", "Firstname",
                "Lastname", "+1-555", "crm-", AwsStack.WEBHOOK_PASSWORD);
        List<String> emf = Emf.lines(logs);
        emf.forEach(line -> assertThat(Emf.validate(line)).isNotEmpty());
        // one EMF line per record the reconciler handled, one per webhook request
        List<JsonNode> lines = logs.lines().map(String::strip).filter(l -> l.startsWith("{"))
                .map(Pipeline::parse).toList();
        assertThat(emf.stream().map(Pipeline::parse).filter(l -> "reconciler".equals(l.path("Function").asText())))
                .hasSize((int) lines.stream().filter(l -> "reconciler".equals(l.path("function").asText())
                        && PER_RECORD_LINES.contains(l.path("message").asText())).count());
        assertThat(emf.stream().map(Pipeline::parse).filter(l -> "webhook".equals(l.path("Function").asText())))
                .hasSize((int) lines.stream().filter(l -> "webhook".equals(l.path("function").asText())
                        && "webhook handled".equals(l.path("message").asText())).count());
    }

    private List<JsonNode> reconcilerLines() {
        return captured.toString(StandardCharsets.UTF_8).lines().map(String::strip).filter(l -> l.startsWith("{"))
                .map(Pipeline::parse).filter(l -> "reconciler".equals(l.path("function").asText())).toList();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    // ---- (a) a full sync reconciled in small chunks

    @Test
    void fullSync_exitsEveryAbsentMemberOnce_whenReconciledInSmallCheckpointedChunks(AwsStack stack) {
        // given 2,500 members, and a 3-page full sync that lists 2,200 of them and 300 newcomers
        Pipeline p = new Pipeline(stack, Map.of("RECONCILE_CHUNK", "100", "RECONCILE_MAX_CHUNKS", "1",
                "RECONCILE_PASS_IDS", "60"));
        List<String> old = Exports.users("m", 0, 2500);
        List<String> newcomers = Exports.users("n", 0, 300);
        p.addAll("ca", NAME, old);
        assertThat(p.drainDeltas()).hasSize(2500);
        List<String> listed = concat(old.subList(0, 2200), newcomers);
        p.postOk(Exports.members("ca", NAME, "s-a", 1, 3, listed.subList(0, 1000)));
        p.postOk(Exports.members("ca", NAME, "s-a", 2, 3, listed.subList(1000, 2000)));
        p.postOk(Exports.members("ca", NAME, "s-a", 3, 3, listed.subList(2000, 2500)));
        // the webhook entered the newcomers and left the exits to the reconciler: one count job per shard
        assertThat(p.drainDeltas()).hasSize(300).allMatch(Delta::member);
        assertThat(p.queuedJobs()).hasSize(Shards.COUNT).allMatch(j -> j.kind() == ReconcileJob.Kind.EXIT_COUNT);

        // when the reconciler works through its queue: 100 items a chunk, 60 session ids a pass, one chunk a run
        p.reconcile();

        // then the table holds exactly: the 300 absent exited once (version 2), everyone else untouched
        Map<String, Membership> table = p.table("ca");
        assertThat(table).hasSize(2800);
        old.subList(0, 2200).forEach(id -> assertThat(table.get(id)).isEqualTo(new Membership(true, 1, null, 1, 0)));
        newcomers.forEach(id -> assertThat(table.get(id)).isEqualTo(new Membership(true, 1, null, 1, 0)));
        old.subList(2200, 2500).forEach(id -> assertThat(table.get(id)).as(id).satisfies(m -> {
            assertThat(m.member()).isFalse();
            assertThat(m.version()).isEqualTo(2);
        }));
        // and exited items expire after EXITED_TTL_DAYS (30); the others never
        Instant now = Instant.now();
        p.rawMembership("ca").forEach(item -> {
            boolean member = item.get("m").bool();
            assertThat(item.containsKey(Keys.TTL)).as(item.get("sk").s()).isEqualTo(!member);
            if (!member) {
                assertThat(Instant.ofEpochSecond(Long.parseLong(item.get(Keys.TTL).n())))
                        .isBetween(now.plus(Duration.ofDays(29)), now.plus(Duration.ofDays(31)));
            }
        });
        // and the delta queue holds one exit per absent member, at the version the table holds
        List<Delta> exits = p.drainDeltas();
        assertThat(exits).hasSize(300).allSatisfy(d -> {
            assertThat(d.member()).isFalse();
            assertThat(d.version()).isEqualTo(2);
            assertThat(d.cohortName()).isEqualTo(NAME);
            assertThat(d.previousName()).isNull();
        });
        assertThat(exits).extracting(Delta::distinctId).containsExactlyInAnyOrderElementsOf(old.subList(2200, 2500));
        assertThat(p.outcome("ca", "s-a")).isEqualTo(new SessionOutcome(SessionOutcome.Status.APPLIED, 1, 2800, 300));
        assertThat(p.cohortState("ca").reconciling()).isFalse();
        // and it went through many checkpointed continuations, each shard's pass over several id ranges
        // (32 jobs, one chunk an invocation: more than two invocations a job on average; 96 measured)
        assertThat(p.records).isGreaterThan(2 * 2 * Shards.COUNT);
        assertThat(reconcilerLines()).anyMatch(l -> "CONTINUED".equals(l.path("status").asText()));
        DynamoReconcileStore progress = new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(1),
                Clock.systemUTC());
        for (ReconcileJob.Kind kind : List.of(ReconcileJob.Kind.EXIT_COUNT, ReconcileJob.Kind.EXIT_APPLY)) {
            for (ReconcileJob job : ReconcileJob.perShard(kind, cohort("ca"), 1, "s-a", now)) {
                Checkpoint cp = progress.checkpoint(job).orElseThrow();
                assertThat(cp.done()).as(job.describe()).isTrue();
                assertThat(cp.passStart()).as(job.describe() + ": started a later pass").isNotNull();
                assertThat(cp.seq()).as(job.describe()).isGreaterThan(2);
            }
        }
    }

    // ---- (b) a crash between any two steps

    /** Where the function dies, at a chosen call of a real adapter. */
    enum CrashPoint {
        /** An apply chunk's exits are on the delta queue, not committed. */
        AFTER_DELTAS_BEFORE_COMMIT,
        /** An apply chunk's exits are committed, its checkpoint not written. */
        AFTER_COMMIT_BEFORE_CHECKPOINT,
        /** The checkpoint is written, the continuation not queued. */
        AFTER_CHECKPOINT_BEFORE_CONTINUATION,
        /** The last shard's count is reported, the pass not decided. */
        AFTER_LAST_COUNT_REPORT_BEFORE_DECISION,
        /** The pass is decided (apply), its apply jobs not queued. */
        AFTER_DECISION_BEFORE_APPLY_JOBS,
        /** Every shard applied, the session's outcome not recorded. */
        BEFORE_OUTCOME_IS_RECORDED
    }

    /** Fires once, on the {@code nth} call that matches. */
    private static final class Trigger {
        private final int nth;
        private final AtomicInteger matched = new AtomicInteger();
        final AtomicInteger fired = new AtomicInteger();
        /** Exits committed by the chunk whose checkpoint the crash lost (AFTER_COMMIT_BEFORE_CHECKPOINT). */
        final AtomicInteger uncheckpointedExits = new AtomicInteger();

        Trigger(int nth) {
            this.nth = nth;
        }

        void at(boolean matches, String where) {
            if (matches && matched.incrementAndGet() == nth) {
                fired.incrementAndGet();
                throw new Pipeline.Crash(where);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(CrashPoint.class)
    void crashedJob_isRedeliveredAndFinishes_exitingEveryAbsentMemberExactlyOnce(CrashPoint point, AwsStack stack) {
        // given 160 members, a one-page full sync that lists 120, and a reconciler that dies once at the point
        Pipeline p = new Pipeline(stack, TINY);
        List<String> users = Exports.users("k", 0, 160);
        p.addAll("cb", NAME, users);
        p.postOk(Exports.members("cb", NAME, "s-b", 1, 1, users.subList(0, 120)));
        assertThat(p.drainDeltas()).hasSize(160);
        Trigger trigger = new Trigger(point == CrashPoint.AFTER_DELTAS_BEFORE_COMMIT
                || point == CrashPoint.AFTER_COMMIT_BEFORE_CHECKPOINT
                || point == CrashPoint.AFTER_CHECKPOINT_BEFORE_CONTINUATION ? 2 : 1);
        p.wireReconciler(
                real -> new ReconcileCoreTest.DelegatingStore(real) {
                    @Override
                    public Set<String> commitUnlisted(CohortRef c, List<Change> changes, long unlistedBefore) {
                        trigger.at(point == CrashPoint.AFTER_DELTAS_BEFORE_COMMIT, point.name());
                        return super.commitUnlisted(c, changes, unlistedBefore);
                    }
                },
                real -> new ReconcileCoreTest.DelegatingSessions(real) {
                    @Override
                    public void recordOutcome(SessionKey session, SessionOutcome outcome) {
                        trigger.at(point == CrashPoint.BEFORE_OUTCOME_IS_RECORDED, point.name());
                        super.recordOutcome(session, outcome);
                    }
                },
                UnaryOperator.identity(),
                real -> new DelegatingProgress(real) {
                    @Override
                    public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
                        int before = trigger.fired.get();
                        try {
                            trigger.at(point == CrashPoint.AFTER_COMMIT_BEFORE_CHECKPOINT
                                    && job.kind() == ReconcileJob.Kind.EXIT_APPLY
                                    && next.changed() > previous.changed(), point.name());
                        } finally {
                            if (trigger.fired.get() > before) {
                                trigger.uncheckpointedExits.set((int) (next.changed() - previous.changed()));
                            }
                        }
                        return super.save(job, previous, next);
                    }

                    @Override
                    public Summary report(ReconcileJob job, Checkpoint cp) {
                        Summary s = super.report(job, cp);
                        trigger.at(point == CrashPoint.AFTER_LAST_COUNT_REPORT_BEFORE_DECISION
                                && job.kind() == ReconcileJob.Kind.EXIT_COUNT && s.shardsCounted() == Shards.COUNT,
                                point.name());
                        return s;
                    }
                },
                real -> new DelegatingJobs(real) {
                    @Override
                    public void enqueue(List<ReconcileJob> jobs) {
                        boolean applies = jobs.stream().allMatch(j -> j.kind() == ReconcileJob.Kind.EXIT_APPLY);
                        trigger.at(point == CrashPoint.AFTER_CHECKPOINT_BEFORE_CONTINUATION && jobs.size() == 1
                                && applies, point.name());
                        trigger.at(point == CrashPoint.AFTER_DECISION_BEFORE_APPLY_JOBS
                                && jobs.size() == Shards.COUNT && applies, point.name());
                        super.enqueue(jobs);
                    }
                }, out);

        // when the reconciler works through its queue, the crashed invocation's records coming back
        p.reconcile();

        // then the crash happened once, and the redelivered work finished
        assertThat(trigger.fired).hasValue(1);
        assertThat(p.crashes).isEqualTo(1);
        // (the outcome counts the exits the checkpoints recorded: a chunk redone after its commit landed finds
        // its members exited already and counts none of them, so the count misses exactly that chunk's exits;
        // the state below is exact. Reported: the count cannot tell "exited by this pass" from "exited before".)
        assertThat(p.outcome("cb", "s-b")).isEqualTo(new SessionOutcome(SessionOutcome.Status.APPLIED, 1, 160,
                40 - trigger.uncheckpointedExits.get()));
        assertThat(p.cohortState("cb").reconciling()).isFalse();
        // and every absent member exited exactly once (version + 1), nobody else changed
        Map<String, Membership> table = p.table("cb");
        assertThat(table).hasSize(160);
        users.subList(0, 120).forEach(id -> assertThat(table.get(id)).isEqualTo(new Membership(true, 1, null, 1, 0)));
        users.subList(120, 160).forEach(id -> assertThat(table.get(id)).as(id).satisfies(m -> {
            assertThat(m.member()).isFalse();
            assertThat(m.version()).isEqualTo(2);
        }));
        // and every exit queued (a redone chunk queues its exits again) is that same change: same version
        List<Delta> exits = p.drainDeltas();
        assertThat(exits).allSatisfy(d -> {
            assertThat(d.member()).isFalse();
            assertThat(d.version()).isEqualTo(2);
        });
        assertThat(exits.stream().map(Delta::distinctId).collect(Collectors.toSet()))
                .containsExactlyInAnyOrderElementsOf(users.subList(120, 160));
    }

    // ---- (c) requests racing the reconciler

    @Test
    void addMembersBetweenTwoChunks_keepsTheMemberTheSessionLeftOut(AwsStack stack) {
        // given 40 members and a full sync that left u0 out; its count jobs are done, its apply jobs not yet
        Pipeline p = new Pipeline(stack, Map.of());
        List<String> users = Exports.users("c", 0, 40);
        String u0 = users.get(0);
        p.addAll("cc", NAME, users);
        p.postOk(Exports.members("cc", NAME, "s-c", 1, 1, users.subList(1, 40)));
        p.drainDeltas();
        AtomicInteger added = new AtomicInteger();

        // when Mixpanel's next diff lists u0 as entering, between the count chunks and the apply chunks
        p.reconcile(batch -> {
            if (added.get() == 0 && batch.stream().anyMatch(j -> j.kind() == ReconcileJob.Kind.EXIT_APPLY)) {
                added.incrementAndGet();
                p.postOk(Exports.add("cc", NAME, List.of(u0)));
            }
        });

        // then the add changed nothing but marked u0, and the pass, which had counted u0, spared u0
        assertThat(added).hasValue(1);
        JsonNode addLine = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("webhook handled")
                && l.contains("\"action\":\"add_members\"")).map(Pipeline::parse).toList().getLast();
        assertThat(JsonFields.count(addLine, "enters")).isZero();
        assertThat(addLine.path("marked").asInt()).isEqualTo(1);
        assertThat(p.table("cc").get(u0)).isEqualTo(new Membership(true, 1, null, 1, 1));
        assertThat(p.drainDeltas()).isEmpty();
        assertThat(p.outcome("cc", "s-c")).isEqualTo(new SessionOutcome(SessionOutcome.Status.APPLIED, 1, 40, 0));
        JsonNode pass = p.status("cc").path("reconcile").get(0);
        assertThat(pass.path("exitsFound").asInt()).isEqualTo(1);
        assertThat(JsonFields.count(pass, "exits")).isZero();
    }

    @Test
    void recheckJob_exitsALateWrittenMemberTheSessionLeftOut_andReannouncesItUnderTheCurrentName(AwsStack stack) {
        // given 20 members, a full sync that lists them all, reconciled; then a write that a slow diff
        // computed before the completion lands after it: a new member, under the name it read
        Pipeline p = new Pipeline(stack, Map.of());
        List<String> users = Exports.users("k", 0, 20);
        p.addAll("ck", NAME, users);
        p.postOk(Exports.members("ck", NAME, "s-k", 1, 1, users));
        p.reconcile();
        p.drainDeltas();
        String late = "late-writer@example.com";
        CohortRef cohort = Pipeline.cohort("ck");
        var store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 4,
                Duration.ofDays(30), Clock.systemUTC());
        assertThat(store.commit(cohort, List.of(new Change(late, Membership.ABSENT,
                new Membership(true, 1, null, 1, 0))))).isEmpty();

        // when the re-check its request queued (as it saw the epoch move) goes through the real queue
        new SqsReconcileQueue(stack.sqs, stack.reconcileQueueUrl)
                .enqueue(ReconcileJob.rechecks(cohort, 1, "s-k", List.of(late), 200_000, Instant.now()));
        p.reconcile();

        // then the late member is out (one version up), its exit is queued, and the listed 20 are untouched
        assertThat(p.table("ck").get(late)).satisfies(m -> {
            assertThat(m.member()).isFalse();
            assertThat(m.version()).isEqualTo(2);
        });
        assertThat(p.drainDeltas()).singleElement().satisfies(d -> {
            assertThat(d.distinctId()).isEqualTo(late);
            assertThat(d.member()).isFalse();
            assertThat(d.cohortName()).isEqualTo(NAME);
        });
        assertThat(users).allMatch(id -> p.table("ck").get(id).member());
        // and the job's log line counts it (no ids in it)
        JsonNode line = captured.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("reconcile job handled") && l.contains("\"kind\":\"RECHECK\""))
                .map(Pipeline::parse).toList().getLast();
        assertThat(line.path("status").asText()).isEqualTo("DONE");
        assertThat(line.path("changed").asInt()).isEqualTo(1);
        assertThat(line.toString()).doesNotContain(late);
    }

    @Test
    void removeMembersWhileRenameJobsAreHalfDone_namesTheOldName_andIsNotReannounced(AwsStack stack) {
        // given 40 members under "Old", renamed to NAME: one rename job per shard queued
        Pipeline p = new Pipeline(stack, Map.of());
        List<String> users = Exports.users("r", 0, 40);
        assertThat(users.stream().map(Shards::of).collect(Collectors.toSet())).as("every shard has a member")
                .hasSize(Shards.COUNT);
        p.addAll("cr", "Old", users);
        p.drainDeltas();
        p.postOk(Exports.add("cr", NAME, List.of()));
        assertThat(p.queuedJobs()).hasSize(Shards.COUNT).allMatch(j -> j.kind() == ReconcileJob.Kind.RENAME);
        String[] removed = {null};
        Set<Integer> doneShards = new HashSet<>();

        // when, after the first batch of rename jobs ran, a member of a shard not renamed yet is removed
        p.reconcile(batch -> {
            if (removed[0] == null && !doneShards.isEmpty()) {
                Set<Integer> pending = batch.stream().map(ReconcileJob::shard).collect(Collectors.toSet());
                removed[0] = users.stream().filter(id -> pending.contains(Shards.of(id))).findFirst().orElseThrow();
                p.postOk(Exports.remove("cr", NAME, List.of(removed[0])));
            }
            batch.forEach(j -> doneShards.add(j.shard()));
        });

        // then its exit names the old name (so both traits end false), and the rename did not announce it again
        assertThat(removed[0]).isNotNull();
        assertThat(doneShards).hasSize(Shards.COUNT);
        List<Delta> deltas = p.drainDeltas();
        assertThat(deltas.stream().filter(d -> d.distinctId().equals(removed[0])))
                .extracting(Delta::member, Delta::version, Delta::cohortName, Delta::previousName)
                .containsExactly(Tuple.tuple(false, 2L, NAME, "Old"));
        assertThat(p.table("cr").get(removed[0])).satisfies(m -> {
            assertThat(m.member()).isFalse();
            assertThat(m.nameVersion()).isEqualTo(2);
        });
        // and everyone else was re-announced once: {Old: false, NAME: true}, version 2
        List<Delta> renamed = deltas.stream().filter(d -> !d.distinctId().equals(removed[0])).toList();
        assertThat(renamed).hasSize(39).allSatisfy(d -> {
            assertThat(d.member()).isTrue();
            assertThat(d.version()).isEqualTo(2);
            assertThat(d.cohortName()).isEqualTo(NAME);
            assertThat(d.previousName()).isEqualTo("Old");
        });
        assertThat(renamed.stream().map(Delta::distinctId).distinct()).hasSize(39);
    }

    // ---- (d) the mass-exit hold

    @Test
    void fullSyncThatWouldExitMostOfALargeCohort_isHeld_recorded_andShownInStatus(AwsStack stack) {
        // given 1,200 members and a complete full sync that lists only 100 of them
        Pipeline p = new Pipeline(stack, Map.of());
        List<String> users = Exports.users("h", 0, 1200);
        p.addAll("cd", NAME, users);
        p.postOk(Exports.members("cd", NAME, "s-d", 1, 1, users.subList(0, 100)));
        p.drainDeltas();

        // when the reconciler counts
        p.reconcile();

        // then nothing exits, and the session is held with its counts
        assertThat(p.drainDeltas()).isEmpty();
        assertThat(p.table("cd").values()).hasSize(1200).allMatch(m -> m.member() && m.version() == 1);
        assertThat(p.outcome("cd", "s-d")).isEqualTo(new SessionOutcome(SessionOutcome.Status.HELD, 1, 1200, 1100));
        assertThat(p.cohortState("cd").reconciling()).isFalse();
        assertThat(reconcilerLines()).noneMatch(l -> "EXIT_APPLY".equals(l.path("kind").asText()));
        // and the operator is told: one error line, one HeldSessions metric
        assertThat(reconcilerLines()).filteredOn(l -> l.path("message").asText().startsWith("full sync held"))
                .singleElement().satisfies(l -> {
                    assertThat(l.path("level").asText()).isEqualTo("ERROR");
                    assertThat(l.path("decision").asText()).isEqualTo("HELD");
                    assertThat(l.path("total").path("members").asInt()).isEqualTo(1200);
                    assertThat(l.path("total").path("matched").asInt()).isEqualTo(1100);
                });
        assertThat(Emf.lines(captured.toString(StandardCharsets.UTF_8)).stream().map(Pipeline::parse)
                .filter(l -> l.path("HeldSessions").asDouble() > 0)).singleElement()
                .satisfies(l -> assertThat(l.path("Function").asText()).isEqualTo("reconciler"));
        // and GET /mixpanel/status shows the history entry and the held pass
        JsonNode status = p.status("cd");
        JsonNode newest = status.path("history").get(0);
        assertThat(newest.path("action").asText()).isEqualTo("reconcile");
        assertThat(newest.path("session").asText()).isEqualTo("HELD");
        assertThat(newest.path("sessionId").asText()).isEqualTo("s-d");
        assertThat(newest.path("outcome").asText()).isEqualTo("held");
        assertThat(newest.path("sessionExits").asInt()).isEqualTo(1100);
        assertThat(JsonFields.count(newest, "exits")).isZero();
        assertThat(status.path("reconcile")).singleElement().satisfies(r -> {
            assertThat(r.path("work").asText()).isEqualTo("EXIT");
            assertThat(r.path("sessionId").asText()).isEqualTo("s-d");
            assertThat(r.path("phase").asText()).isEqualTo("HELD");
            assertThat(r.path("shardsCounted").asInt()).isEqualTo(Shards.COUNT);
            assertThat(r.path("members").asInt()).isEqualTo(1200);
            assertThat(r.path("exitsFound").asInt()).isEqualTo(1100);
            assertThat(JsonFields.count(r, "exits")).isZero();
            assertThat(r.path("done").asBoolean()).isTrue();
        });
    }

    // ---- (e) state of an earlier version

    @Test
    void oldLayout_answers503AndIsMigrated_thenSyncsAsAnyCohort(AwsStack stack) throws Exception {
        // given a cohort exactly as the previous release stored it: one partition M#<project>#<cohort> with
        // pk, sk, m, v (and u for mapped user ids), and its cohort item holding only the name
        Pipeline p = new Pipeline(stack, Map.of("RECONCILE_CHUNK", "7", "RECONCILE_MAX_CHUNKS", "1"));
        CohortRef ref = cohort("ce");
        String legacy = Keys.legacyMembershipPk(ref);
        List<String> users = Exports.users("g", 0, 30);
        Map<String, Membership> before = new HashMap<>();
        for (int i = 0; i < users.size(); i++) {
            boolean member = i < 25;
            long version = member ? (i % 2 == 0 ? 1 : 3) : 2;
            String mapped = i < 3 || i == 20 ? "crm-" + i : null;
            Map<String, AttributeValue> item = new HashMap<>(Map.of("pk", AttributeValue.fromS(legacy),
                    "sk", AttributeValue.fromS(users.get(i)), "m", AttributeValue.fromBool(member),
                    "v", AttributeValue.fromN(Long.toString(version))));
            if (mapped != null) {
                item.put("u", AttributeValue.fromS(mapped));
            }
            stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(item));
            before.put(users.get(i), new Membership(member, version, mapped, 1, 0));
        }
        stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(Map.of(
                "pk", AttributeValue.fromS(Keys.cohortPk(ref)), "sk", AttributeValue.fromS("META"),
                "name", AttributeValue.fromS(NAME))));
        String diff = Exports.add("ce", NAME, users.subList(0, 2));

        // when Mixpanel sends a diff, then retries it
        APIGatewayV2HTTPResponse first = p.post(diff);
        APIGatewayV2HTTPResponse retry = p.post(diff);

        // then both are asked to retry, with a clear message, and each queued the migration (while it lasts,
        // every attempt queues it again, so a lost job cannot leave the cohort answering 503 for good)
        for (APIGatewayV2HTTPResponse r : List.of(first, retry)) {
            assertThat(r.getStatusCode()).isEqualTo(503);
            JsonNode body = Pipeline.parse(r.getBody());
            assertThat(body.path("status").asText()).isEqualTo("failure");
            assertThat(body.path("action").asText()).isEqualTo("add_members");
            assertThat(body.path("error").path("message").asText()).contains("migrated").contains("retry");
        }
        assertThat(p.queuedJobs()).hasSize(2).allSatisfy(j -> {
            assertThat(j.kind()).isEqualTo(ReconcileJob.Kind.MIGRATE);
            assertThat(j.cohort()).isEqualTo(ref);
        });
        assertThat(p.cohortState("ce").migrating()).isTrue();

        // when the reconciler migrates, 7 items a chunk
        p.reconcile();

        // then every item is in its shard as it was (name version 1: announced under the one name known),
        // nothing is left in the old partition, nothing was announced, and the cohort syncs again
        assertThat(p.items(legacy)).isEmpty();
        assertThat(p.table("ce")).isEqualTo(before);
        assertThat(p.drainDeltas()).isEmpty();
        assertThat(p.cohortState("ce").migrating()).isFalse();
        assertThat(p.records).isGreaterThanOrEqualTo(5);
        // and the same request now answers 200 and changes nothing
        p.postOk(diff);
        assertThat(p.drainDeltas()).isEmpty();
        assertThat(p.table("ce")).isEqualTo(before);
        assertThat(p.queuedJobs()).isEmpty();
        // and a later full sync exits the migrated members it does not list, to the ids their enters went to
        p.postOk(Exports.members("ce", NAME, "s-e", 1, 1, users.subList(0, 20)));
        p.reconcile();
        List<Delta> exits = p.drainDeltas();
        assertThat(exits).extracting(Delta::distinctId).containsExactlyInAnyOrderElementsOf(users.subList(20, 25));
        assertThat(exits).allSatisfy(d -> {
            assertThat(d.member()).isFalse();
            assertThat(d.version()).isEqualTo(before.get(d.distinctId()).version() + 1);
        });
        assertThat(exits).filteredOn(d -> d.distinctId().equals(users.get(20))).singleElement()
                .satisfies(d -> assertThat(d.segmentUserId()).isEqualTo("crm-20"));
    }

    // ---- (f) what Lambda is told

    @Test
    void handleRequest_namesExactlyThePoisonAndFailingRecords_inTheShapeLambdaExpects(AwsStack stack) {
        // given a reconciler whose DynamoDB fails for one cohort, and four records: a job that is done already,
        // a body that is not JSON, a job of the failing cohort, and JSON that is not a job
        Pipeline p = new Pipeline(stack, Map.of());
        p.wireReconciler(UnaryOperator.identity(), UnaryOperator.identity(), real -> new DelegatingCohorts(real) {
            @Override
            public Optional<CohortState> load(CohortRef c) {
                if (c.cohortId().equals("c-broken")) {
                    throw new DependencyUnavailableException("DynamoDB", "GetItem failed (injected)", null);
                }
                return super.load(c);
            }
        }, UnaryOperator.identity(), UnaryOperator.identity(), out);
        String done = ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.MIGRATE, cohort("cf"), 0, null, 0,
                Instant.now()));
        String notJson = "{\"schema\":\"cohort-sync.reconcile/1\",";
        String failing = ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.RENAME, cohort("c-broken"), 2,
                null, 5, Instant.now()));
        String notAJob = "{\"schema\":\"cohort-sync.deltas/1\",\"changes\":[]}";
        for (String body : List.of(done, notJson, failing, notAJob)) {
            stack.sqs.sendMessage(b -> b.queueUrl(stack.reconcileQueueUrl).messageBody(body));
        }
        List<Message> messages = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 10);
        assertThat(messages).hasSize(4);

        // when
        SQSBatchResponse response = p.reconciler.handleRequest(SqsEvents.event(stack.reconcileQueueUrl, messages),
                LambdaContexts.withRemaining("cohort-sync-reconciler", Duration.ofSeconds(120)));

        // then exactly the three that must come back, in record order, in the runtime's own serialization
        String expected = "{\"batchItemFailures\":[" + String.join(",", messages.stream()
                .filter(m -> !m.body().equals(done))
                .map(m -> "{\"itemIdentifier\":\"" + m.messageId() + "\"}").toList()) + "]}";
        assertThat(SqsEvents.toJson(response)).isEqualTo(expected);
        assertThat(reconcilerLines()).filteredOn(l -> l.path("level").asText().equals("ERROR"))
                .extracting(l -> l.path("message").asText()).containsExactlyInAnyOrder(
                        "reconcile message is not a job: left for the DLQ",
                        "reconcile message is not a job: left for the DLQ",
                        "reconcile job failed: it comes back and resumes from its checkpoint");
        assertThat(reconcilerLines()).filteredOn(l -> l.has("dependency")).singleElement()
                .satisfies(l -> assertThat(l.path("cohortId").asText()).isEqualTo("c-broken"));

        // and SQS redelivers them until maxReceiveCount, then moves them to the reconcile DLQ, verbatim
        SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, messages, response);
        int receives = 1;
        while (true) {
            List<Message> again = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 10);
            if (again.isEmpty()) {
                break;
            }
            assertThat(++receives).as("receives").isLessThanOrEqualTo(10);
            SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, again, p.reconciler.handleRequest(
                    SqsEvents.event(stack.reconcileQueueUrl, again),
                    LambdaContexts.withRemaining("cohort-sync-reconciler", Duration.ofSeconds(120))));
        }
        assertThat(receives).isEqualTo(Infrastructure.MAX_RECEIVE_COUNT);
        assertThat(SqsEvents.receive(stack.sqs, stack.reconcileDlqUrl, 10)).extracting(Message::body)
                .containsExactlyInAnyOrder(notJson, failing, notAJob);
    }

    // ---- pass-through ports for fault injection

    static class DelegatingProgress implements ReconcileStore {
        private final ReconcileStore real;

        DelegatingProgress(ReconcileStore real) {
            this.real = real;
        }

        @Override
        public Optional<Checkpoint> checkpoint(ReconcileJob job) {
            return real.checkpoint(job);
        }

        @Override
        public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
            return real.save(job, previous, next);
        }

        @Override
        public Summary report(ReconcileJob job, Checkpoint finalCheckpoint) {
            return real.report(job, finalCheckpoint);
        }

        @Override
        public boolean decide(ReconcileJob job, Phase decision) {
            return real.decide(job, decision);
        }

        @Override
        public Optional<Summary> summary(ReconcileJob job) {
            return real.summary(job);
        }

        @Override
        public List<Summary> recent(CohortRef cohort, int limit) {
            return real.recent(cohort, limit);
        }
    }

    static class DelegatingJobs implements ReconcileQueue {
        private final ReconcileQueue real;

        DelegatingJobs(ReconcileQueue real) {
            this.real = real;
        }

        @Override
        public void enqueue(List<ReconcileJob> jobs) {
            real.enqueue(jobs);
        }

        @Override
        public void enqueueDelayed(List<ReconcileJob> jobs, Duration delay) {
            real.enqueueDelayed(jobs, delay);
        }
    }

    static class DelegatingCohorts implements CohortStore {
        private final CohortStore real;

        DelegatingCohorts(CohortStore real) {
            this.real = real;
        }

        @Override
        public Optional<CohortState> load(CohortRef cohort) {
            return real.load(cohort);
        }

        @Override
        public boolean create(CohortRef cohort, CohortState state) {
            return real.create(cohort, state);
        }

        @Override
        public boolean rename(CohortRef cohort, CohortState current, CohortState next) {
            return real.rename(cohort, current, next);
        }

        @Override
        public boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages) {
            return real.completeSession(cohort, current, session, pages);
        }

        @Override
        public void finishReconcile(CohortRef cohort, long epoch) {
            real.finishReconcile(cohort, epoch);
        }

        @Override
        public void startMigration(CohortRef cohort, String name) {
            real.startMigration(cohort, name);
        }

        @Override
        public void finishMigration(CohortRef cohort) {
            real.finishMigration(cohort);
        }

        @Override
        public void recordSync(CohortRef cohort, CohortState read, Instant at, String action) {
            real.recordSync(cohort, read, at, action);
        }

        @Override
        public boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at) {
            return real.finishRetirement(cohort, epoch, syncsAtStart, at);
        }
    }
}
