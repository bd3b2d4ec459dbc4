package io.cohortsync.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.MotoServer;
import io.cohortsync.testkit.QueueReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.body;
import static io.cohortsync.cli.Seed.delta;
import static org.assertj.core.api.Assertions.assertThat;

/** Where the resources come from: a CloudFormation stack's outputs, or `make local`'s emulator and names. */
@ExtendWith(MotoExtension.class)
class TargetIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A stack in moto with the outputs template.yaml declares, naming this test's resources. */
    private static String createStack(AwsStack stack, boolean withDlqOutput) {
        return createStack(stack, withDlqOutput, true);
    }

    private static String createStack(AwsStack stack, boolean withDlqOutput, boolean withReconcileDlqOutput) {
        ObjectNode template = JSON.createObjectNode();
        template.putObject("Resources").putObject("Placeholder").put("Type", "AWS::SQS::Queue")
                .putObject("Properties").put("QueueName", stack.name + "-cfn");
        ObjectNode outputs = template.putObject("Outputs");
        outputs.putObject("StateTableName").put("Value", stack.tableName);
        outputs.putObject("DeltaQueueUrl").put("Value", stack.queueUrl);
        if (withDlqOutput) {
            outputs.putObject("DeadLetterQueueUrl").put("Value", stack.dlqUrl);
        }
        outputs.putObject("ReconcileQueueUrl").put("Value", stack.reconcileQueueUrl);
        if (withReconcileDlqOutput) {
            outputs.putObject("ReconcileDlqUrl").put("Value", stack.reconcileDlqUrl);
        }
        String name = stack.name + (withDlqOutput && withReconcileDlqOutput ? "-stack"
                : withDlqOutput ? "-no-reconcile-dlq" : "-partial");
        try (CloudFormationClient cf = CloudFormationClient.builder().region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                .build()) {
            cf.createStack(b -> b.stackName(name).templateBody(template.toString()));
        }
        return name;
    }

    @Test
    void stack_suppliesEveryResource_fromItsOutputs(AwsStack stack) {
        // given
        String name = createStack(stack, true);
        Seed.redriven(stack, body(delta(POWER, "alice@example.com", true, 1)));

        // when
        CliRun rejected = CliRun.run("rejected", "--stack", name);
        CliRun replay = CliRun.run("replay", "--stack", name);

        // then
        assertThat(rejected.code()).isZero();
        assertThat(rejected.out()).contains("rejected — stack " + name + ", region us-east-1",
                "dead-letter queue: " + stack.dlqUrl, "total: 1 message, 1 delta, 1 cohort");
        assertThat(replay.code()).isZero();
        assertThat(replay.out()).contains("to delta queue:         " + stack.queueUrl, "moved 1 message");
        assertThat(QueueReader.drainMessages(stack.sqs, stack.queueUrl)).hasSize(1);
    }

    @Test
    void stack_suppliesTheReconcileQueues_fromItsOutputs_whenReconcile(AwsStack stack) {
        // given a reconcile job that SQS moved to the reconcile DLQ
        String name = createStack(stack, true);
        Seed.redrivenJob(stack, Seed.job(POWER, 3));

        // when
        CliRun rejected = CliRun.run("rejected", "--reconcile", "--stack", name);
        CliRun replay = CliRun.run("replay", "--reconcile", "--stack", name);

        // then both found the reconcile queues, not the delta queues
        assertThat(rejected.code()).isZero();
        assertThat(rejected.out()).contains("reconcile dead-letter queue: " + stack.reconcileDlqUrl,
                "total: 1 message, 1 job, 1 cohort");
        assertThat(replay.code()).isZero();
        assertThat(replay.out()).contains("from reconcile dead-letter queue: " + stack.reconcileDlqUrl,
                "to reconcile queue:               " + stack.reconcileQueueUrl, "moved 1 message (1 job, 1 cohort)");
        assertThat(QueueReader.drainMessages(stack.sqs, stack.reconcileQueueUrl)).hasSize(1);
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void stack_failsWithOneLineAndExit2_whenTheReconcileOutputIsMissing(AwsStack stack) {
        // given a stack of an earlier version: no reconciler, so no ReconcileDlqUrl
        String name = createStack(stack, true, false);

        // when
        CliRun r = CliRun.run("replay", "--reconcile", "--stack", name);
        CliRun deltas = CliRun.run("replay", "--stack", name, "--dry-run");

        // then only the command that needs it fails
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: stack " + name + " has no output ReconcileDlqUrl"
                + " (the reconcile dead-letter queue)").hasLineCount(1);
        assertThat(deltas.code()).isZero();
    }

    @Test
    void stack_isOverridden_byAnExplicitFlag(AwsStack stack) {
        String name = createStack(stack, true);
        String otherDlq = Infrastructure.createQueues(stack.sqs, stack.name + "-other")[1];

        CliRun r = CliRun.run("rejected", "--stack", name, "--dlq-url", otherDlq);

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("dead-letter queue: " + otherDlq);
    }

    @Test
    void stack_failsWithOneLineAndExit2_whenNotFound(AwsStack stack) {
        CliRun r = CliRun.run("replay", "--stack", stack.name + "-missing");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("cohort-sync: stack " + stack.name + "-missing not found in region us-east-1"
                + " (check --stack and --region / AWS_REGION)" + System.lineSeparator());
    }

    @Test
    void stack_failsWithOneLineAndExit2_whenAnOutputIsMissing(AwsStack stack) {
        String name = createStack(stack, false);

        CliRun r = CliRun.run("rejected", "--stack", name);

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: stack " + name + " has no output DeadLetterQueueUrl").hasLineCount(1);
    }

    @Test
    void local_usesTheEmulatorInAwsEndpointUrl_andMakeLocalsResourceNames() {
        // given an emulator of its own, as `make local` runs one (not the one the SDK is pointed at in tests)
        try (MotoServer local = MotoServer.start(Path.of("target"));
             SqsClient sqs = SqsClient.builder().endpointOverride(local.endpoint()).region(Region.US_EAST_1)
                     .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                     .build();
             DynamoDbClient dynamo = DynamoDbClient.builder().endpointOverride(local.endpoint()).region(Region.US_EAST_1)
                     .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                     .build()) {
            Map<String, String> env = Map.of("AWS_ENDPOINT_URL", local.endpoint().toString());

            // when make local has not created its resources yet
            CliRun early = CliRun.run(env, "rejected", "--local");

            // then
            assertThat(early.code()).isEqualTo(2);
            assertThat(early.err()).isEqualTo("cohort-sync: no queue cohort-sync-local-deltas-dlq at make local at "
                    + local.endpoint() + ": is `make local` running against that emulator?" + System.lineSeparator());

            // given the resources as LocalPipeline creates them, a member, a rejected delta and a dead-lettered job
            Infrastructure.createTable(dynamo, "cohort-sync-local-state");
            String[] queues = Infrastructure.createQueues(sqs, "cohort-sync-local-deltas");
            String[] reconcile = Infrastructure.createReconcileQueues(sqs, "cohort-sync-local-reconcile");
            sqs.sendMessage(b -> b.queueUrl(queues[1]).messageBody(body(delta(POWER, "alice@example.com", true, 1))));
            sqs.sendMessage(b -> b.queueUrl(reconcile[1]).messageBody(Seed.job(POWER, 7)));
            Change enter = new Change("alice@example.com", Membership.ABSENT, new Membership(true, 1));
            new DynamoMembershipStore(dynamo, "cohort-sync-local-state", 1, Duration.ofDays(30), Clock.systemUTC())
                    .commit(POWER, List.of(enter));
            new DynamoCohortStore(dynamo, "cohort-sync-local-state", Duration.ofHours(72), Clock.systemUTC())
                    .create(POWER, CohortState.first(Seed.POWER_NAME));

            // when
            CliRun rejected = CliRun.run(env, "rejected", "--local");
            CliRun backfill = CliRun.run(env, "backfill", "--local", "--project", POWER.projectId(), "--cohort", POWER.cohortId());
            CliRun replay = CliRun.run(env, "replay", "--reconcile", "--local");

            // then all found make local's resources in that emulator
            assertThat(rejected.code()).isZero();
            assertThat(rejected.out()).contains("rejected — make local at " + local.endpoint(),
                    "dead-letter queue: " + queues[1], "total: 1 message, 1 delta, 1 cohort");
            assertThat(backfill.code()).isZero();
            assertThat(backfill.out()).contains("from state table: cohort-sync-local-state", "1 member in 1 message");
            assertThat(QueueReader.drainDeltas(sqs, queues[0])).extracting(Delta::distinctId).containsExactly("alice@example.com");
            assertThat(replay.code()).isZero();
            assertThat(replay.out()).contains("from reconcile dead-letter queue: " + reconcile[1], "moved 1 message");
            assertThat(QueueReader.drainMessages(sqs, reconcile[0])).hasSize(1);
            assertThat(rejected.all() + backfill.all() + replay.all()).doesNotContain("@example.com");
        }
    }
}
