package io.cohortsync.cli;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.sync.CohortSyncService;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.POWER_NAME;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * {@code retire} against moto: every current member exits through the normal delta path (the real sender
 * sends {@code false}), the cohort ends retired, a dry run writes nothing, an interrupted retirement
 * resumes, and an export that arrives while it runs keeps the users it lists and the cohort un-retired.
 */
@ExtendWith(MotoExtension.class)
class RetireIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final List<String> MEMBERS = List.of("alice@example.com", "bob@example.com", "dave@example.com");

    /** alice (v1), bob (v3) and dave (v1, Segment user crm-42) are members; carol left (v2). */
    private static void seed(AwsStack stack) {
        Seed.history(stack, POWER, "alice@example.com", null, true);
        Seed.history(stack, POWER, "bob@example.com", null, true, false, true);
        Seed.history(stack, POWER, "carol@example.com", null, true, false);
        Seed.history(stack, POWER, "dave@example.com", "crm-42", true);
        Seed.name(stack, POWER, POWER_NAME);
    }

    private static CliRun retire(AwsStack stack, String... args) {
        List<String> line = new ArrayList<>(List.of("retire", "--table", stack.tableName, "--queue-url", stack.queueUrl,
                "--project", POWER.projectId(), "--cohort", POWER.cohortId()));
        line.addAll(List.of(args));
        CliRun r = CliRun.run(line.toArray(String[]::new));
        assertThat(r.all()).doesNotContain("@example.com").doesNotContain("crm-42");
        return r;
    }

    @Test
    void dryRun_countsTheMembers_andWritesNothing(AwsStack stack) {
        // given
        seed(stack);
        CohortState before = Seed.cohorts(stack).load(POWER).orElseThrow();
        // when
        CliRun r = retire(stack, "--dry-run");
        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("(dry run: nothing is written)", "would exit: 3 members (trait \"Power users\" false)");
        assertThat(QueueReader.drainMessages(stack.sqs, stack.queueUrl)).isEmpty();
        assertThat(Seed.cohorts(stack).load(POWER).orElseThrow()).isEqualTo(before);
        assertThat(members(stack).read(POWER, MEMBERS, true).values()).allMatch(Membership::member);
    }

    @Test
    void outputJson_isOneDocumentOnStdout_withTheCounts_andProgressOnStderr(AwsStack stack) throws Exception {
        // given
        seed(stack);
        // when: a dry run, then the retirement, each as one JSON document
        CliRun dry = retire(stack, "--dry-run", "--output", "json");
        CliRun real = retire(stack, "--output", "json");
        // then
        JsonNode d = JSON.readTree(dry.out());
        assertThat(d.path("exitCode").asInt(-1)).as(dry.all()).isZero();
        assertThat(d.path("outcome").asText()).isEqualTo("dry run");
        assertThat(d.path("wouldExit").isNumber()).isTrue();
        assertThat(d.path("wouldExit").asLong()).isEqualTo(3);
        JsonNode r = JSON.readTree(real.out());
        assertThat(r.path("exitCode").asInt(-1)).as(real.all()).isZero();
        assertThat(r.path("outcome").asText()).isEqualTo("retired");
        assertThat(r.path("exited").isNumber()).isTrue();
        assertThat(r.path("exited").asLong()).isEqualTo(3);
        assertThat(r.path("membersRead").asLong()).isEqualTo(3);
        assertThat(r.path("retiredAt").asText()).isNotBlank();
        assertThat(real.err()).contains("retire").contains("done");
    }

    @Test
    void retire_exitsEveryMemberThroughTheSender_thenMarksTheCohortRetired_andIsIdempotent(AwsStack stack)
            throws Exception {
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            // given
            seed(stack);
            Map<String, String> env = new HashMap<>(stack.environment());
            env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
            SenderHandler sender = SenderHandler.forEnvironment(env);

            // when
            CliRun r = retire(stack, "--rate", "1000");
            Thread.sleep(RetireCommand.DELTA_DELAY.toMillis() + 1000); // queued before their commit, with a delay
            List<Message> queued = SqsEvents.receive(stack.sqs, stack.queueUrl, 10);
            List<Delta> exits = queued.stream().flatMap(m -> DeltaCodec.decode(m.body())
                    .stream()).toList();
            sendAll(stack, sender, queued);

            // then one exit per member, each the next version, committed; carol (gone already) untouched
            assertThat(r.code()).as(r.all()).isZero();
            assertThat(r.out()).contains("exited 3 members of 3 read", "retired at ");
            assertThat(exits).extracting(Delta::distinctId, Delta::member, Delta::version, Delta::userId)
                    .containsExactlyInAnyOrder(tuple("alice@example.com", false, 2L, null),
                            tuple("bob@example.com", false, 4L, null), tuple("dave@example.com", false, 2L, "crm-42"));
            assertThat(members(stack).read(POWER, MEMBERS, true).values()).noneMatch(Membership::member);
            // and the sender found them current and sent the trait false to each profile
            assertThat(segment.acceptedIdentifies()).extracting(m -> m.path("userId").asText())
                    .containsExactlyInAnyOrder("alice@example.com", "bob@example.com", "crm-42");
            assertThat(segment.acceptedIdentifies()).allSatisfy(m -> assertThat(
                    m.path("traits").path("Mixpanel - " + POWER_NAME)).isEqualTo(
                    BooleanNode.FALSE));
            // and the cohort is retired, no longer pending
            CohortState after = Seed.cohorts(stack).load(POWER).orElseThrow();
            assertThat(after.retiredAt()).isNotNull();
            assertThat(after.reconciling()).isFalse();

            // when run again
            CliRun again = retire(stack);
            // then nothing happens
            assertThat(again.code()).isZero();
            assertThat(again.out()).contains("already retired at " + after.retiredAt());
            assertThat(QueueReader.drainMessages(stack.sqs, stack.queueUrl)).isEmpty();
        }
    }

    @Test
    void anInterruptedRetirement_resumes_exitingOnlyTheMembersLeft(AwsStack stack) throws Exception {
        // given a retirement that started (as retire commits it) and exited alice before it was killed
        seed(stack);
        DynamoCohortStore cohorts = Seed.cohorts(stack);
        CohortState state = cohorts.load(POWER).orElseThrow();
        String session = CohortState.RETIRE_SESSION_PREFIX + "20261201T100000.000Z-s0";
        assertThat(cohorts.completeSession(POWER, state, new SessionKey(POWER, session), 0)).isTrue();
        Membership alice = members(stack).read(POWER, List.of("alice@example.com"), true).get("alice@example.com");
        assertThat(members(stack).commitUnlisted(POWER, List.of(new Change("alice@example.com", alice,
                alice.next(false))), state.epoch() + 1)).isEmpty();

        // when retire runs again
        CliRun r = retire(stack);

        // then it resumed that retirement and exited the two members left
        assertThat(r.code()).as(r.all()).isZero();
        assertThat(r.out()).contains("resuming the retirement " + session, "exited 2 members of 2 read");
        Thread.sleep(RetireCommand.DELTA_DELAY.toMillis() + 1000);
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).extracting(Delta::distinctId)
                .containsExactlyInAnyOrder("bob@example.com", "dave@example.com");
        assertThat(cohorts.load(POWER).orElseThrow().retiredAt()).isNotNull();
    }

    @Test
    void anExportWhileTheRetirementRuns_keepsTheUsersItLists_andTheCohortIsNotMarkedRetired(AwsStack stack) {
        // given a retirement under way, and Mixpanel calling for the cohort after its start (the webhook's core,
        // on the same table), listing bob, before the retirement reads bob's shard
        seed(stack);
        Clock clock = Clock.systemUTC();
        DynamoMembershipStore store = members(stack);
        CohortSyncService webhook = new CohortSyncService(store, new SqsDeltaQueue(stack.sqs, stack.queueUrl),
                new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock),
                Seed.cohorts(stack), new SqsReconcileQueue(stack.sqs, stack.reconcileQueueUrl), true, clock);
        AtomicBoolean exported = new AtomicBoolean();
        MembershipStore exportOnFirstScan = new DelegatingMembers(store) {
            @Override
            public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
                if (exported.compareAndSet(false, true)) {
                    webhook.apply(new CohortExport(Action.ADD_MEMBERS, POWER, POWER_NAME, null, 1, 1,
                            List.of("bob@example.com"), 1, Map.of()));
                }
                return super.scan(cohort, shard, from, to, cursor, limit);
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RetireCommand command = new RetireCommand(Seed.cohorts(stack), exportOnFirstScan,
                new SqsDeltaQueue(stack.sqs, stack.queueUrl), RateLimiter.unlimited(), clock,
                Report.text(new PrintStream(out, true, StandardCharsets.UTF_8)),
                ProgressReporter.silent());

        // when
        int code;
        try {
            code = command.run(new Target("moto", Map.of(Resource.TABLE, stack.tableName,
                    Resource.DELTA_QUEUE, stack.queueUrl)), new RetireCommand.Request(CohortRef.DEFAULT_CONNECTION,
                    POWER.projectId(), POWER.cohortId(), false));
        } catch (SetupException e) {
            throw new AssertionError(e);
        }

        // then bob, whom Mixpanel listed, is still a member; alice and dave exited
        String report = out.toString(StandardCharsets.UTF_8);
        assertThat(exported).isTrue();
        assertThat(code).as(report).isEqualTo(CohortSyncCli.FAILED);
        assertThat(store.read(POWER, MEMBERS, true)).extractingFromEntries(e -> e.getKey() + "=" + e.getValue().member())
                .containsExactlyInAnyOrder("alice@example.com=false", "bob@example.com=true", "dave@example.com=false");
        assertThat(report).contains("exited 2 members of 3 read, kept 1 listed by Mixpanel meanwhile",
                "not marked retired: Mixpanel called for this cohort while the retirement ran");
        // and the cohort is neither retired nor still being retired (requests stop marking)
        CohortState after = Seed.cohorts(stack).load(POWER).orElseThrow();
        assertThat(after.retiredAt()).isNull();
        assertThat(after.reconciling()).isFalse();
    }

    @Test
    void retire_refusesACohortItDoesNotKnow_withExitCode2(AwsStack stack) {
        CliRun r = retire(stack);
        assertThat(r.code()).isEqualTo(CohortSyncCli.USER_ERROR);
        assertThat(r.err()).contains("no cohort 2195193/1457721 in the state table");
    }

    private static DynamoMembershipStore members(AwsStack stack) {
        return new DynamoMembershipStore(stack.dynamo, stack.tableName, 4, Duration.ofDays(30), Clock.systemUTC());
    }

    private static void sendAll(AwsStack stack, SenderHandler sender, List<Message> first) {
        List<Message> messages = first;
        for (int round = 0; round < 20 && !messages.isEmpty(); round++) {
            SQSBatchResponse response = sender.handleRequest(SqsEvents.event(stack.queueUrl, messages),
                    LambdaContexts.withRemaining("sender", Duration.ofSeconds(60)));
            assertThat(response.getBatchItemFailures()).isEmpty();
            SqsEvents.settle(stack.sqs, stack.queueUrl, messages, response);
            messages = SqsEvents.receive(stack.sqs, stack.queueUrl, 10);
        }
    }

    /** The real store, with a hook a test can override. */
    private static class DelegatingMembers implements MembershipStore {
        private final MembershipStore real;

        DelegatingMembers(MembershipStore real) {
            this.real = real;
        }

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            return real.read(cohort, ids, consistent);
        }

        @Override
        public Set<String> commit(CohortRef cohort, List<Change> changes) {
            return real.commit(cohort, changes);
        }

        @Override
        public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes,
                                                   long unlistedBefore) {
            return real.commitUnlisted(cohort, changes, unlistedBefore);
        }

        @Override
        public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
            return real.mark(cohort, unchanged, epoch);
        }

        @Override
        public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
            return real.scan(cohort, shard, from, to, cursor, limit);
        }

        @Override
        public boolean hasLegacyState(CohortRef cohort) {
            return real.hasLegacyState(cohort);
        }

        @Override
        public int migrateLegacy(CohortRef cohort, int limit) {
            return real.migrateLegacy(cohort, limit);
        }
    }
}
