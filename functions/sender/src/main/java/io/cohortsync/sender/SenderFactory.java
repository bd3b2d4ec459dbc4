package io.cohortsync.sender;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CachedSecret;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.segment.CachedWriteKey;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.segment.SegmentTransport;
import io.cohortsync.segment.SegmentWriteKey;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.PrintStream;
import java.time.Clock;
import java.util.Map;

/**
 * The one place that wires the sender's real collaborators. Nothing here reads a secret, opens a
 * connection, or captures a time or a random value (SnapStart): all of that happens per invocation.
 */
public final class SenderFactory {
    private SenderFactory() {
    }

    static SenderService fromEnvironment(Map<String, String> env) {
        return create(SenderConfig.fromEnvironment(env), AwsClients.fromLambdaEnvironment(env), System.out,
                Clock.systemUTC());
    }

    /** Real adapters on {@code aws}; logs and metrics to {@code out}. */
    static SenderService create(SenderConfig config, AwsClients aws, PrintStream out, Clock clock) {
        SqsClient sqs = aws.sqs();
        // The sender only reads membership, so the commit concurrency is irrelevant here.
        var dynamo = aws.dynamoDb();
        // The ttl only matters for writing whole entries, which the webhook does; the sender adds counts.
        SyncHistory history = config.historyEnabled()
                ? new DynamoSyncHistory(dynamo, config.tableName(), java.time.Duration.ZERO, clock) : SyncHistory.DISABLED;
        return create(config, new DynamoMembershipStore(dynamo, config.tableName(), 1),
                new SqsDeltaQueue(sqs, config.deltaQueueUrl()), new SqsDeadLetterQueue(sqs, config.dlqUrl()),
                new SecretsManagerSource(aws.secretsManager()), new SegmentClient(config.segmentBaseUrl(), clock),
                history, out, clock);
    }

    /** Wires a service around the given ports (tests wrap real adapters to inject faults). */
    static SenderService create(SenderConfig config, MembershipStore store, DelayedDeltaQueue requeue,
                                DeadLetterQueue deadLetters, SecretSource secrets, SegmentTransport segment,
                                PrintStream out, Clock clock) {
        return create(config, store, requeue, deadLetters, secrets, segment, SyncHistory.DISABLED, out, clock);
    }

    static SenderService create(SenderConfig config, MembershipStore store, DelayedDeltaQueue requeue,
                                DeadLetterQueue deadLetters, SecretSource secrets, SegmentTransport segment,
                                SyncHistory history, PrintStream out, Clock clock) {
        CachedSecret<SegmentWriteKey> writeKey = new CachedSecret<>(secrets, config.segmentSecretId(),
                SegmentWriteKey::parse, config.secretCacheTtl(), clock);
        SegmentDelivery delivery = SegmentDelivery.standard(segment, new CachedWriteKey(writeKey),
                config.segmentTimeout(), clock);
        return new SenderService(config, store, requeue, deadLetters, delivery, clock, new JsonLog("sender", out, clock),
                () -> new Metrics(out, clock, Map.of("Function", "sender")), history);
    }
}
