package io.cohortsync.webhook;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortNames;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.domain.CohortNames;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CachedSecret;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.mixpanel.MixpanelRequestParser;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.sync.CohortSyncService;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.time.Clock;
import java.util.Map;

/** The one place that wires the webhook's real collaborators. */
public final class WebhookFactory {
    private WebhookFactory() {
    }

    static WebhookService fromEnvironment(Map<String, String> env) {
        WebhookConfig config = WebhookConfig.fromEnvironment(env);
        AwsClients aws = AwsClients.fromLambdaEnvironment(env);
        DynamoDbClient dynamo = aws.dynamoDb();
        Clock clock = Clock.systemUTC();
        SqsDeltaQueue sqs = new SqsDeltaQueue(aws.sqs(), config.deltaQueueUrl());
        // Deltas are queued before their commit (design.md); a short delay lets the commit land before
        // the sender looks, instead of the sender finding most deltas "ahead" and re-queueing them.
        DeltaQueue queue = deltas -> sqs.enqueueDelayed(deltas, config.deltaDelay());
        return create(config,
                new DynamoMembershipStore(dynamo, config.tableName(), config.commitConcurrency()),
                queue,
                new DynamoSessionStore(dynamo, config.tableName(), config.sessionTtl(), clock),
                config.renameTraits() ? new DynamoCohortNames(dynamo, config.tableName()) : CohortNames.NOT_TRACKED,
                config.historyTtl().isZero() ? SyncHistory.DISABLED
                        : new DynamoSyncHistory(dynamo, config.tableName(), config.historyTtl(), clock),
                new SecretsManagerSource(aws.secretsManager()),
                clock);
    }

    /** Wires a service around the given ports (tests wrap real adapters to inject faults). */
    static WebhookService create(WebhookConfig config, MembershipStore store, DeltaQueue queue,
                                 SessionStore sessions, CohortNames names, SyncHistory history, SecretSource secrets,
                                 Clock clock) {
        CachedSecret<WebhookCredentials> credentials = new CachedSecret<>(secrets, config.webhookSecretId(),
                WebhookCredentials::parse, config.secretCacheTtl(), clock);
        return new WebhookService(new BasicAuthenticator(credentials), new MixpanelRequestParser(config.userIdProperty(), config.extraTraits()),
                new CohortSyncService(store, queue, sessions, config.massExitPolicy(), names, clock),
                config.maxBodyBytes(), JsonLog.stdout("webhook"),
                () -> new Metrics(System.out, clock, Map.of("Function", "webhook")), history, clock);
    }
}
