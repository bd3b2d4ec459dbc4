package io.cohortsync.cli;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Shards;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.MessageIds;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.cohortsync.cli.Seed.CHURN;
import static io.cohortsync.cli.Seed.CHURN_NAME;
import static io.cohortsync.cli.Seed.OTHER_PROJECT;
import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.POWER_NAME;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * {@code backfill} against moto: it queues exactly the stored state with this run's resend token, and
 * the real sender delivers what it queued to a Segment stand-in under fresh messageIds.
 */
@ExtendWith(MotoExtension.class)
class BackfillIT {

    /**
     * Power users: alice (member, v1), bob (entered, left, entered: v3), carol (left: v2), dave (member,
     * v1, mapped to Segment user crm-42). Churn risk (same project): erin. Another project: frank.
     */
    private static void seed(AwsStack stack) {
        Seed.history(stack, POWER, "alice@example.com", null, true);
        Seed.history(stack, POWER, "bob@example.com", null, true, false, true);
        Seed.history(stack, POWER, "carol@example.com", null, true, false);
        Seed.history(stack, POWER, "dave@example.com", "crm-42", true);
        Seed.name(stack, POWER, POWER_NAME);
        Seed.history(stack, CHURN, "erin@example.com", null, true);
        Seed.name(stack, CHURN, CHURN_NAME);
        Seed.history(stack, OTHER_PROJECT, "frank@example.com", null, true);
        Seed.name(stack, OTHER_PROJECT, "Elsewhere");
    }

    private static CliRun backfill(AwsStack stack, String... args) {
        List<String> line = new ArrayList<>(List.of("backfill", "--table", stack.tableName,
                "--queue-url", stack.queueUrl));
        line.addAll(List.of(args));
        CliRun r = CliRun.run(line.toArray(String[]::new));
        assertThat(r.all()).doesNotContain("@example.com").doesNotContain("crm-42");
        return r;
    }

    private static String tokenIn(CliRun r) {
        return r.out().lines().findFirst().orElseThrow().split(" ")[1];
    }

    @Test
    void backfill_queuesExactlyTheStoredMembers_withThisRunsResendToken(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());

        // then
        assertThat(r.code()).isZero();
        String token = tokenIn(r);
        assertThat(token).matches("backfill-\\d{8}T\\d{6}\\.\\d{3}Z");
        assertThat(r.out()).contains("2195193/1457721 \"Power users\": 3 members in 1 message",
                "queued: 1 cohort, 3 members in 1 message.");
        List<Delta> queued = QueueReader.drainDeltas(stack.sqs, stack.queueUrl);
        assertThat(queued).extracting(Delta::cohort, Delta::cohortName, Delta::distinctId, Delta::member, Delta::version,
                        Delta::userId, Delta::previousName, Delta::resend)
                .containsExactlyInAnyOrder(
                        tuple(POWER, POWER_NAME, "alice@example.com", true, 1L, null, null, token),
                        tuple(POWER, POWER_NAME, "bob@example.com", true, 3L, null, null, token),
                        tuple(POWER, POWER_NAME, "dave@example.com", true, 1L, "crm-42", null, token));
    }

    @Test
    void backfill_resendsAnAnonymousMemberAsAnonymous_notUnderItsDistinctIdAsUserId(AwsStack stack) {
        // given: gina entered without the user-id property (MISSING_USER_ID=anonymous), alice with it
        Seed.history(stack, POWER, "alice@example.com", null, true);
        Seed.anonymousMember(stack, POWER, "gina@example.com");
        Seed.name(stack, POWER, POWER_NAME);

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());

        // then: the stored identity rides along, so the sender addresses gina by anonymousId again
        assertThat(r.code()).isZero();
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl))
                .extracting(Delta::distinctId, Delta::userId, Delta::anonymous)
                .containsExactlyInAnyOrder(tuple("alice@example.com", null, false), tuple("gina@example.com", null, true));
    }

    @Test
    void backfill_readsAndQueuesTheNamedConnectionsCohorts_whenConnectionGiven(AwsStack stack) {
        // given the same cohort on the default connection and on "eu", with different members
        seed(stack);
        CohortRef eu = new CohortRef("eu", POWER.projectId(), POWER.cohortId());
        Seed.history(stack, eu, "zoe@example.com", null, true);
        Seed.name(stack, eu, POWER_NAME);

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId(), "--connection", "eu");

        // then only the eu connection's member is queued, as a delta of that connection
        assertThat(r.code()).isZero();
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).singleElement().satisfies(d -> {
            assertThat(d.cohort()).isEqualTo(eu);
            assertThat(d.distinctId()).isEqualTo("zoe@example.com");
        });
    }

    @Test
    void backfill_alsoQueuesExits_whenIncludeExits(AwsStack stack) {
        seed(stack);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId(), "--include-exits");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("3 members + 1 exit in 1 message");
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl))
                .extracting(Delta::distinctId, Delta::member, Delta::version)
                .containsExactlyInAnyOrder(tuple("alice@example.com", true, 1L), tuple("bob@example.com", true, 3L),
                        tuple("carol@example.com", false, 2L), tuple("dave@example.com", true, 1L));
    }

    @Test
    void backfill_queuesEveryCohortOfTheProject_whenAll(AwsStack stack) {
        seed(stack);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--all");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("2195193/1457721 \"Power users\": 3 members in 1 message",
                "2195193/99 \"Churn risk\": 1 member in 1 message", "queued: 2 cohorts, 4 members in 2 messages.");
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).extracting(Delta::distinctId)
                .containsExactlyInAnyOrder("alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com");
    }

    @Test
    void backfill_addressesCohortsWhoseCallsCarryNoProjectId_withThePlaceholderProject(AwsStack stack) {
        // given a cohort the webhook keyed under the placeholder (its calls carried no mixpanel_project_id)
        seed(stack);
        CohortRef noProject = new CohortRef(CohortRef.UNKNOWN_PROJECT, POWER.cohortId());
        Seed.history(stack, noProject, "yann@example.com", null, true);
        Seed.name(stack, noProject, POWER_NAME);

        // when
        CliRun r = backfill(stack, "--project", "unknown-project", "--all");

        // then only that cohort is queued, as a delta of the placeholder project
        assertThat(r.code()).as(r.all()).isZero();
        assertThat(r.out()).contains("unknown-project/1457721 \"Power users\": 1 member in 1 message");
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).singleElement()
                .satisfies(d -> assertThat(d.cohort()).isEqualTo(noProject));
    }

    @Test
    void backfill_queuesNothing_whenDryRun(AwsStack stack) {
        seed(stack);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--all", "--dry-run");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("dry run: nothing is queued", "would queue: 2 cohorts, 4 members in 2 messages.");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void backfill_splitsIntoSmallerMessages_whenRateLimited(AwsStack stack) {
        // given 3 members and at most 2 deltas a second: 2 messages, the second a second after the first
        seed(stack);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId(), "--rate", "2");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("3 members in 2 messages");
        assertThat(QueueReader.drainMessages(stack.sqs, stack.queueUrl)).hasSize(2);
    }

    @Test
    void backfill_failsWithExit2AndQueuesNothing_whenNoNameIsStored(AwsStack stack) {
        // given membership without its cohort item (the webhook creates one on a cohort's first request; e.g.
        // a table restored in part)
        Seed.history(stack, POWER, "alice@example.com", null, true);

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());

        // then
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: no name stored for cohort 1457721 of project 2195193")
                .contains("pass --name").hasLineCount(1);
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);

        // and with --name it goes
        CliRun named = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId(), "--name", POWER_NAME);
        assertThat(named.code()).isZero();
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).extracting(Delta::cohortName).containsExactly(POWER_NAME);
    }

    @Test
    void backfill_usesTheCohortsCurrentName_afterARename(AwsStack stack) {
        // given the cohort was renamed in Mixpanel and the webhook stored the new name
        seed(stack);
        Seed.rename(stack, POWER, "Power users (renamed)");

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());

        // then every delta carries the current name, the one the trait is now named after
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("2195193/1457721 \"Power users (renamed)\": 3 members in 1 message");
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).extracting(Delta::cohortName)
                .containsOnly("Power users (renamed)").hasSize(3);
    }

    @Test
    void backfill_queuesMembersOfEveryShard(AwsStack stack) {
        // given 40 members, spread over all 16 shards
        List<String> users = IntStream.range(0, 40).mapToObj(i -> "m" + i + "@example.com").toList();
        users.forEach(u -> Seed.history(stack, CHURN, u, null, true));
        Seed.name(stack, CHURN, CHURN_NAME);
        assertThat(users.stream().map(Shards::of).distinct()).hasSize(16);

        // when
        CliRun r = backfill(stack, "--project", CHURN.projectId(), "--cohort", CHURN.cohortId());

        // then
        assertThat(r.code()).isZero();
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).extracting(Delta::distinctId)
                .containsExactlyInAnyOrderElementsOf(users);
    }

    @Test
    void backfill_failsWithExit2AndQueuesNothing_whenTheCohortIsStillInTheOldLayout(AwsStack stack) {
        // given a cohort stored by an earlier version, in one partition, that no request has migrated yet
        seed(stack);
        CohortRef old = new CohortRef(POWER.projectId(), "42");
        Seed.legacyMember(stack, old, "gina@example.com");

        // when
        CliRun one = backfill(stack, "--project", POWER.projectId(), "--cohort", "42", "--name", "Old cohort");
        CliRun all = backfill(stack, "--project", POWER.projectId(), "--all");

        // then neither queues anything: the members are not where the tool reads
        assertThat(one.code()).isEqualTo(2);
        assertThat(one.err()).startsWith("cohort-sync: cohort 42 of project 2195193 is still stored in the layout of"
                + " an earlier version: nothing queued").contains("reconciler").hasLineCount(1);
        assertThat(all.code()).isEqualTo(2);
        assertThat(all.err()).startsWith("cohort-sync: 1 cohort of project 2195193 (42) is still stored in the layout");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void backfill_failsWithExit2AndQueuesNothing_whileTheCohortIsBeingMigrated(AwsStack stack) {
        // given the reconciler is moving the cohort to the sharded layout
        seed(stack);
        Seed.cohorts(stack).startMigration(POWER, POWER_NAME);

        // when
        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());

        // then
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("is still stored in the layout of an earlier version");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void backfill_failsWithExit2_whenNameDisagreesWithTheStoredOne(AwsStack stack) {
        seed(stack);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId(), "--name", "Power Users");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("is stored as \"Power users\", not \"Power Users\"");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void backfill_failsWithExit2AndQueuesNothing_whenAllFindsACohortWithoutName(AwsStack stack) {
        seed(stack);
        Seed.history(stack, new CohortRef(POWER.projectId(), "3"), "gina@example.com", null, true);

        CliRun r = backfill(stack, "--project", POWER.projectId(), "--all");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: no name stored for 1 cohort of project 2195193 (3)")
                .contains("--cohort C --name NAME");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
    }

    @Test
    void backfill_failsWithExit2_whenTheTableDoesNotExist(AwsStack stack) {
        CliRun r = CliRun.run("backfill", "--table", stack.tableName + "-nope", "--queue-url", stack.queueUrl,
                "--project", "1", "--cohort", "2");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: DynamoDB refused: ResourceNotFoundException").hasLineCount(1);
    }

    @Test
    void backfill_isDeliveredByTheRealSender_underFreshMessageIds(AwsStack stack) {
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            // given the original changes went through the pipeline and Segment took them
            seed(stack);
            Map<String, String> env = new HashMap<>(stack.environment());
            env.put("SEGMENT_ENDPOINT", segment.baseUrl().toString());
            SenderHandler sender = SenderHandler.forEnvironment(env);
            List<Delta> originals = List.of(
                    Seed.delta(POWER, "alice@example.com", true, 1),
                    Seed.delta(POWER, "bob@example.com", true, 3),
                    new Delta(POWER, POWER_NAME, "dave@example.com", true, 1, Seed.OBSERVED, "crm-42", null, null));
            new SqsDeltaQueue(stack.sqs, stack.queueUrl).enqueue(originals);
            drain(stack, sender);
            assertThat(segment.acceptedIdentifies()).hasSize(3);

            // when a new destination needs them again
            CliRun r = backfill(stack, "--project", POWER.projectId(), "--cohort", POWER.cohortId());
            drain(stack, sender);

            // then Segment accepts each member again, none dropped as a copy, under ids it has not seen
            assertThat(r.code()).isZero();
            List<JsonNode> resent = segment.acceptedIdentifies().subList(3, segment.acceptedIdentifies().size());
            assertThat(segment.duplicates()).isZero();
            assertThat(resent).extracting(m -> m.path("userId").asText())
                    .containsExactlyInAnyOrder("alice@example.com", "bob@example.com", "crm-42");
            assertThat(resent).allSatisfy(m -> assertThat(m.path("traits").path("Mixpanel - " + POWER_NAME).booleanValue()).isTrue());
            Set<String> originalIds = originals.stream()
                    .map(d -> MessageIds.of(d, IdentifyMessage.DEFAULT_TRAIT_PREFIX)).collect(Collectors.toSet());
            assertThat(resent).extracting(m -> m.path("messageId").asText()).doesNotContainAnyElementsOf(originalIds)
                    .doesNotHaveDuplicates();
            assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(0, 0);
        }
    }

    /** Plays Lambda's event source mapping until the delta queue is empty. */
    private static void drain(AwsStack stack, SenderHandler sender) {
        for (int round = 0; round < 20; round++) {
            List<Message> messages = SqsEvents.receive(stack.sqs, stack.queueUrl, 10);
            if (messages.isEmpty()) {
                return;
            }
            SQSBatchResponse response = sender.handleRequest(SqsEvents.event(stack.queueUrl, messages),
                    LambdaContexts.withRemaining("sender", Duration.ofSeconds(60)));
            assertThat(response.getBatchItemFailures()).isEmpty();
            SqsEvents.settle(stack.sqs, stack.queueUrl, messages, response);
        }
        throw new AssertionError("the delta queue did not drain in 20 polls");
    }

    @Test
    void backfill_printsOneJsonDocumentOnStdout_andProgressOnStderr_whenOutputJson(AwsStack stack) throws Exception {
        // given
        seed(stack);

        // when progress is due at every step, as a pipe sees it
        CliRun r = CliRun.withProgressEvery(Duration.ZERO, "backfill", "--table", stack.tableName, "--queue-url",
                stack.queueUrl, "--project", POWER.projectId(), "--all", "--output", "json");

        // then stdout is one JSON document with what was queued
        assertThat(r.code()).isZero();
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertThat(doc.path("exitCode").asInt()).isZero();
        assertThat(doc.path("token").asText()).startsWith("backfill-");
        assertThat(doc.path("cohorts")).extracting(c -> c.path("cohortId").asText(), c -> c.path("members").asLong())
                .containsExactly(tuple(POWER.cohortId(), 3L), tuple(CHURN.cohortId(), 1L));
        assertThat(doc.path("total").path("members").asLong()).isEqualTo(4);
        assertThat(QueueReader.drainDeltas(stack.sqs, stack.queueUrl)).hasSize(4);
        // and stderr has plain progress lines (no \r: not a terminal), done/total shards, rate, the last one "done"
        List<String> progress = r.err().lines().toList();
        assertThat(progress).hasSizeGreaterThan(2).allMatch(l -> l.startsWith("backfill: "));
        assertThat(progress.getFirst()).matches("backfill: \\d+/32 shards \\(\\d+%\\), \\d+ deltas, [\\d,]+ deltas/s.*");
        assertThat(progress.getLast()).matches("backfill: done, 32/32 shards \\(100%\\), 4 deltas, [\\d,]+ deltas/s, .+ s");
        assertThat(r.err()).doesNotContain("\r").doesNotContain("@example.com");
    }
}
