package io.cohortsync.cli;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.sync.CohortSyncService;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SqsEvents;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.cohortsync.cli.Seed.CHURN;
import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.body;
import static io.cohortsync.cli.Seed.delta;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code replay --reconcile} and {@code rejected --reconcile} against moto: the reconcile dead-letter
 * queue goes back to the reconcile queue (jobs only, each once, the delta queues untouched), and a
 * replayed exit pass then runs to its end in the real reconciler.
 */
@ExtendWith(MotoExtension.class)
class ReplayReconcileIT {

    /** 5 jobs of two cohorts (SQS moved them: no reason), and one message that is not a job. */
    private static List<String> seed(AwsStack stack) {
        List<String> bodies = new ArrayList<>();
        for (int shard = 0; shard < 4; shard++) {
            bodies.add(Seed.job(POWER, shard));
        }
        bodies.add(ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.RENAME, CHURN, 3, null, 9,
                Seed.OBSERVED)));
        bodies.forEach(b -> Seed.redrivenJob(stack, b));
        Seed.redrivenJob(stack, body(delta(POWER, "alice@example.com", true, 1)));
        return bodies;
    }

    private static CliRun replay(AwsStack stack, String... more) {
        List<String> line = new ArrayList<>(List.of("replay", "--reconcile", "--reconcile-queue-url",
                stack.reconcileQueueUrl, "--reconcile-dlq-url", stack.reconcileDlqUrl));
        line.addAll(List.of(more));
        CliRun r = CliRun.run(line.toArray(String[]::new));
        assertThat(r.all()).doesNotContain("@example.com");
        return r;
    }

    @Test
    void replay_movesEveryJobExactlyOnceToTheReconcileQueue_andLeavesWhatIsNotAJob(AwsStack stack) {
        // given
        List<String> seeded = seed(stack);

        // when
        CliRun r = replay(stack);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains(
                "from reconcile dead-letter queue: " + stack.reconcileDlqUrl,
                "moved 5 messages (5 jobs, 2 cohorts)",
                """
                  reason: redriven by SQS after maxReceiveCount
                    5 messages, 5 jobs
                    cohorts (project/cohort: jobs): 2195193/1457721: 4, 2195193/99: 1
                    kinds: EXIT_APPLY: 4, RENAME: 1
                """,
                """
                left in the reconcile dead-letter queue:
                  not reconcile jobs (the reconciler would dead-letter them again): 1 message
                """);
        assertThat(QueueReader.drainMessages(stack.sqs, stack.reconcileQueueUrl)).extracting(Message::body)
                .containsExactlyInAnyOrderElementsOf(seeded);
        assertThat(QueueReader.drainMessages(stack.sqs, stack.reconcileDlqUrl)).hasSize(1);
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(0, 0);
    }

    @Test
    void replay_movesNothing_whenDryRun(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = replay(stack, "--dry-run");

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("dry run: nothing is moved", "would move 5 messages (5 jobs, 2 cohorts)");
        assertThat(Seed.depth(stack.sqs, stack.reconcileQueueUrl)).containsExactly(0, 0);
        assertThat(Seed.depth(stack.sqs, stack.reconcileDlqUrl)).containsExactly(6, 0);
    }

    @Test
    void replay_leavesTheDeltaDlqAlone_andTheDeltaReplayLeavesTheReconcileDlqAlone(AwsStack stack) {
        // given a job in the reconcile DLQ and a delta message in the delta DLQ
        Seed.redrivenJob(stack, Seed.job(POWER, 0));
        Seed.redriven(stack, body(delta(POWER, "alice@example.com", true, 1)));

        // when
        CliRun deltas = CliRun.run("replay", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then each replay moved only its own pair
        assertThat(deltas.out()).contains("moved 1 message (1 delta, 1 cohort)");
        assertThat(Seed.depth(stack.sqs, stack.reconcileDlqUrl)).containsExactly(1, 0);
        assertThat(replay(stack).out()).contains("moved 1 message (1 job, 1 cohort)");
        assertThat(Seed.depth(stack.sqs, stack.reconcileQueueUrl)).containsExactly(1, 0);
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(1, 0);
    }

    @Test
    void rejected_reportsTheReconcileDlqByCohortAndKind_andConsumesNothing(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = CliRun.run("rejected", "--reconcile", "--reconcile-dlq-url", stack.reconcileDlqUrl);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("reconcile dead-letter queue: " + stack.reconcileDlqUrl,
                "kinds: EXIT_APPLY: 4, RENAME: 1",
                """
                reason: redriven by SQS after maxReceiveCount
                  6 messages, 5 jobs, 1 not a reconcile job
                """,
                "total: 6 messages, 5 jobs, 2 cohorts");
        assertThat(r.all()).doesNotContain("@example.com");
        assertThat(Seed.depth(stack.sqs, stack.reconcileDlqUrl)).containsExactly(6, 0);
    }

    @Test
    void replay_letsTheReconcilerFinishAnExitPass_whoseJobsWereDeadLettered(AwsStack stack) {
        // given 3 members, then a one-page full sync that lists 2: its 16 shard jobs are queued ...
        CohortRef cohort = POWER;
        Clock clock = Clock.systemUTC();
        DynamoMembershipStore members = new DynamoMembershipStore(stack.dynamo, stack.tableName, 4, Duration.ofDays(30),
                clock);
        CohortSyncService webhook = new CohortSyncService(members, new SqsDeltaQueue(stack.sqs, stack.queueUrl),
                new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock),
                new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), clock),
                new SqsReconcileQueue(stack.sqs, stack.reconcileQueueUrl), true, clock);
        List<String> users = List.of("alice@example.com", "bob@example.com", "carol@example.com");
        webhook.apply(export(Action.ADD_MEMBERS, cohort, null, users));
        webhook.apply(export(Action.MEMBERS, cohort, "sess-1", users.subList(0, 2)));
        QueueReader.drainMessages(stack.sqs, stack.queueUrl); // the enters: not what this test is about
        // ... and failed maxReceiveCount times (the reconciler was broken), so SQS moved them to the DLQ
        List<Message> jobs = QueueReader.drainMessages(stack.sqs, stack.reconcileQueueUrl);
        assertThat(jobs).hasSize(16);
        jobs.forEach(m -> Seed.redrivenJob(stack, m.body()));

        // when the operator replays them and the reconciler runs again
        CliRun r = replay(stack);
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("DELTA_DELAY_SECONDS", "0"); // the exits are committed before the test reads the queue
        ReconcilerHandler reconciler = ReconcilerHandler.forEnvironment(env);
        drain(stack, reconciler);

        // then the pass counted, decided and applied: carol exited, once, and nothing is left anywhere
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("moved 16 messages (16 jobs, 1 cohort)");
        assertThat(members.read(cohort, users, true)).extractingFromEntries(e -> e.getKey() + "=" + e.getValue().member())
                .containsExactlyInAnyOrder("alice@example.com=true", "bob@example.com=true", "carol@example.com=false");
        List<Delta> exits = QueueReader.drainDeltas(stack.sqs, stack.queueUrl);
        assertThat(exits).extracting(Delta::distinctId, Delta::member)
                .containsExactly(Tuple.tuple("carol@example.com", false));
        assertThat(Seed.depth(stack.sqs, stack.reconcileDlqUrl)).containsExactly(0, 0);
    }

    private static CohortExport export(Action action, CohortRef cohort, String session, List<String> ids) {
        return new CohortExport(action, cohort, Seed.POWER_NAME, session, 1, 1, ids, ids.size(), Map.of());
    }

    /** Plays Lambda's event source mapping (batch 1) until the reconcile queue is empty, waiting out delays. */
    private static void drain(AwsStack stack, ReconcilerHandler reconciler) {
        for (int round = 0; round < 200; round++) {
            List<Message> messages = SqsEvents.receive(stack.sqs, stack.reconcileQueueUrl, 1);
            if (messages.isEmpty()) {
                long[] visibleAndInFlight = Seed.depth(stack.sqs, stack.reconcileQueueUrl);
                if (visibleAndInFlight[0] + visibleAndInFlight[1] == 0) {
                    return;
                }
                continue;
            }
            SQSBatchResponse response = reconciler.handleRequest(SqsEvents.event(stack.reconcileQueueUrl, messages),
                    LambdaContexts.withRemaining("reconciler", Duration.ofSeconds(120)));
            assertThat(response.getBatchItemFailures()).isEmpty();
            SqsEvents.settle(stack.sqs, stack.reconcileQueueUrl, messages, response);
        }
        throw new AssertionError("the reconcile queue did not drain in 200 polls");
    }
}
