package io.cohortsync.webhook;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CachedSecret;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.mixpanel.MixpanelRequestParser;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.sync.CohortSyncService;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/** The one place that wires the webhook's real collaborators. */
public final class WebhookFactory {
    private WebhookFactory() {
    }

    static WebhookService fromEnvironment(Map<String, String> env) {
        return wire(WebhookConfig.fromEnvironment(env), AwsClients.fromLambdaEnvironment(env), Clock.systemUTC(),
                System.out);
    }

    /** The real adapters on {@code aws}'s clients; logs and metrics to {@code out} (SnapStart priming drops them). */
    static WebhookService wire(WebhookConfig config, AwsClients aws, Clock clock, PrintStream out) {
        DynamoDbClient dynamo = aws.dynamoDb();
        SqsDeltaQueue sqs = new SqsDeltaQueue(aws.sqs(), config.deltaQueueUrl());
        // Deltas are queued before their commit (design.md); a short delay lets the commit land before
        // the sender looks, instead of the sender finding most deltas "ahead" and re-queueing them.
        DeltaQueue queue = deltas -> sqs.enqueueDelayed(deltas, config.deltaDelay());
        Duration keep = config.historyTtl().isZero() ? Duration.ofDays(30) : config.historyTtl();
        return create(config, new WebhookPorts(
                new DynamoMembershipStore(dynamo, config.tableName(), config.commitConcurrency(), config.exitedTtl(),
                        clock),
                queue,
                new DynamoSessionStore(dynamo, config.tableName(), config.sessionTtl(), clock),
                new DynamoCohortStore(dynamo, config.tableName(), config.sessionTtl(), clock),
                new SqsReconcileQueue(aws.sqs(), config.reconcileQueueUrl()),
                new DynamoReconcileStore(dynamo, config.tableName(), keep, clock),
                config.historyTtl().isZero() ? SyncHistory.DISABLED
                        : new DynamoSyncHistory(dynamo, config.tableName(), config.historyTtl(), clock),
                new SecretsManagerSource(aws.secretsManager())), clock, out);
    }

    /**
     * Wires a service around the given ports, logs and metrics to stdout: for tools that drive the real
     * handler with their own adapters (the reliability suite injects faults through them, the benchmark
     * counts through them; wrap it with {@link WebhookHandler#of}).
     */
    public static WebhookService create(WebhookConfig config, WebhookPorts ports, Clock clock) {
        return create(config, ports, clock, System.out);
    }

    static WebhookService create(WebhookConfig config, WebhookPorts ports, Clock clock, PrintStream out) {
        CachedSecret<WebhookCredentials> credentials = new CachedSecret<>(ports.secrets(), config.webhookSecretId(),
                WebhookCredentials::parse, config.secretCacheTtl(), clock);
        return new WebhookService(new BasicAuthenticator(credentials),
                new MixpanelRequestParser(config.userIdProperty(), config.extraTraits(), config.missingUserId()),
                new CohortSyncService(ports.store(), ports.queue(), ports.sessions(), ports.cohorts(), ports.jobs(),
                        config.renameTraits(), clock),
                config.maxBodyBytes(), new JsonLog("webhook", out, Clock.systemUTC()),
                () -> new Metrics(out, clock, Map.of("Function", "webhook")), ports.history(), ports.progress(),
                clock);
    }
}
