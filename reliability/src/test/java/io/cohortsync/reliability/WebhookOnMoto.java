package io.cohortsync.reliability;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;

import java.time.Clock;
import java.time.Duration;

/** The real webhook handler on a moto stack, every port the real adapter, the secret read through {@code secrets}. */
final class WebhookOnMoto {
    private WebhookOnMoto() {
    }

    static WebhookHandler handler(AwsStack stack, String secretId, SecretSource secrets, int maxBodyBytes) {
        Clock clock = Clock.systemUTC();
        Duration sessionTtl = Duration.ofHours(72);
        WebhookConfig config = new WebhookConfig(stack.tableName, stack.queueUrl, stack.reconcileQueueUrl, secretId,
                sessionTtl, maxBodyBytes, Duration.ofSeconds(300), 16, Duration.ZERO);
        SqsDeltaQueue queue = new SqsDeltaQueue(stack.sqs, stack.queueUrl);
        return WebhookHandler.of(WebhookFactory.create(config, new WebhookPorts(
                new DynamoMembershipStore(stack.dynamo, stack.tableName, 16, Duration.ofDays(30), clock),
                queue::enqueue,
                new DynamoSessionStore(stack.dynamo, stack.tableName, sessionTtl, clock),
                new DynamoCohortStore(stack.dynamo, stack.tableName, sessionTtl, clock),
                new SqsReconcileQueue(stack.sqs, stack.reconcileQueueUrl),
                new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(30), clock),
                SyncHistory.DISABLED, secrets), clock));
    }
}
