package io.cohortsync.cli;

import io.cohortsync.aws.DynamoCohortNames;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.testkit.AwsStack;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test data written the way the pipeline writes it: membership committed through the store, names
 * through the cohort-name adapter, dead letters through the sender's DLQ adapter (or, for SQS's own
 * redrive, a bare message). Every distinct id is an e-mail address at example.com, every mapped user
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
        DynamoMembershipStore store = new DynamoMembershipStore(stack.dynamo, stack.tableName, 1);
        Membership from = Membership.ABSENT;
        for (boolean member : memberships) {
            Membership to = from.next(member, userId);
            assertThat(store.commit(cohort, List.of(new Change(distinctId, from, to)))).isEmpty();
            from = to;
        }
    }

    static void name(AwsStack stack, CohortRef cohort, String name) {
        new DynamoCohortNames(stack.dynamo, stack.tableName).put(cohort, name);
    }
}
