package io.cohortsync.cli;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.testkit.AwsStack;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test data written the way the pipeline writes it: membership committed through the store (into the
 * user's shard), cohorts and their names through the cohort store, dead letters through the sender's
 * DLQ adapter (or, for SQS's own redrive, a bare message). Every distinct id is an e-mail address at example.com, every mapped user
 * id starts with "crm-", so a report can be scanned for either.
 */
final class Seed {
    static final CohortRef POWER = new CohortRef("2195193", "1457721");
    static final CohortRef CHURN = new CohortRef("2195193", "99");
    static final CohortRef OTHER_PROJECT = new CohortRef("777", "555");
    static final String POWER_NAME = "Power users";
    static final String CHURN_NAME = "Churn risk";
    static final Instant OBSERVED = Instant.parse("2026-11-28T11:00:00.123Z");
    static final String SEGMENT_REJECTED = "Segment rejected the message: Segment answered 400 to this message alone";

    private Seed() {
    }

    static Delta delta(CohortRef cohort, String distinctId, boolean member, long version) {
        return new Delta(cohort, cohort == POWER ? POWER_NAME : CHURN_NAME, distinctId, member, version, OBSERVED);
    }

    /** One delta message (the queue's format) carrying {@code deltas}. */
    static String body(Delta... deltas) {
        List<String> bodies = DeltaCodec.encode(List.of(deltas), SqsDeltaQueue.MAX_MESSAGE_BYTES);
        assertThat(bodies).hasSize(1);
        return bodies.getFirst();
    }

    /** A message the sender dead-lettered, with its reason. */
    static void deadLetter(AwsStack stack, String reason, String body) {
        new SqsDeadLetterQueue(stack.sqs, stack.dlqUrl).send(List.of(new DeadLetter(body, reason, "")));
    }

    /** A message SQS moved to the DLQ itself after maxReceiveCount: the body only, no reason. */
    static void redriven(AwsStack stack, String body) {
        stack.sqs.sendMessage(b -> b.queueUrl(stack.dlqUrl).messageBody(body));
    }

    /** A reconcile job's message, as the webhook queues one (EXIT_APPLY of shard {@code shard}, epoch 2). */
    static String job(CohortRef cohort, int shard) {
        return ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, cohort, 2, "sess-7f0d", shard,
                OBSERVED));
    }

    /** A job SQS moved to the reconcile DLQ after maxReceiveCount (the reconciler never sets a reason). */
    static void redrivenJob(AwsStack stack, String body) {
        stack.sqs.sendMessage(b -> b.queueUrl(stack.reconcileDlqUrl).messageBody(body));
    }

    /** [visible, in flight] */
    static long[] depth(SqsClient sqs, String queueUrl) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        return new long[]{Long.parseLong(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)),
                Long.parseLong(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE))};
    }

    /**
     * Commits a user's history in a cohort as the webhook would, one version per step: {@code true,
     * false, true} ends as a member at version 3. {@code userId} is the mapped Segment id, or null.
     */
    static void history(AwsStack stack, CohortRef cohort, String distinctId, String userId, boolean... memberships) {
        DynamoMembershipStore store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, Duration.ofDays(30),
                Clock.systemUTC());
        Membership from = Membership.ABSENT;
        for (boolean member : memberships) {
            Membership to = from.next(member, userId);
            assertThat(store.commit(cohort, List.of(new Change(distinctId, from, to)))).isEmpty();
            from = to;
        }
    }

    /** A member that entered without the user-id property under {@code MISSING_USER_ID=anonymous}. */
    static void anonymousMember(AwsStack stack, CohortRef cohort, String distinctId) {
        DynamoMembershipStore store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1, Duration.ofDays(30),
                Clock.systemUTC());
        assertThat(store.commit(cohort, List.of(new Change(distinctId, Membership.ABSENT,
                Membership.ABSENT.next(true, null, true))))).isEmpty();
    }

    /** A member stored the way versions before sharding stored one: in the cohort's single partition. */
    static void legacyMember(AwsStack stack, CohortRef cohort, String distinctId) {
        stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(Map.of(
                Keys.PK, AttributeValue.fromS(Keys.legacyMembershipPk(cohort)), Keys.SK, AttributeValue.fromS(distinctId),
                "m", AttributeValue.fromBool(true), "v", AttributeValue.fromN("1"))));
    }

    /** The cohort item the webhook creates on a cohort's first request: its name, version 1. */
    static void name(AwsStack stack, CohortRef cohort, String name) {
        assertThat(cohorts(stack).create(cohort, CohortState.first(name))).isTrue();
    }

    /** A rename as the webhook stores it: the name version moves on, the item keeps the old name by version. */
    static void rename(AwsStack stack, CohortRef cohort, String newName) {
        DynamoCohortStore store = cohorts(stack);
        CohortState current = store.load(cohort).orElseThrow();
        assertThat(store.rename(cohort, current, current.renamed(newName))).isTrue();
    }

    static DynamoCohortStore cohorts(AwsStack stack) {
        return new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), Clock.systemUTC());
    }
}
