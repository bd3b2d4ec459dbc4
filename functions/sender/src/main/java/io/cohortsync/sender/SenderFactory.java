package io.cohortsync.sender;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.domain.CohortStore;
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
import io.cohortsync.send.SendSettings;
import io.cohortsync.send.SenderCore;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.segment.SegmentTransport;
import software.amazon.awssdk.services.sqs.SqsClient;

import io.cohortsync.segment.SegmentDestinations;
import io.cohortsync.segment.WriteKeySource;

import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
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
        // One HTTP client per Segment base URL, made on first use (a connection may have its own region).
        Map<URI, SegmentTransport> clients = new ConcurrentHashMap<>();
        return create(config, aws, url -> clients.computeIfAbsent(url, u -> new SegmentClient(u, clock)), out, clock);
    }

    /** Real adapters on {@code aws}, Segment through {@code transports} (SnapStart priming: nothing is sent). */
    static SenderService create(SenderConfig config, AwsClients aws, Function<URI, SegmentTransport> transports,
                                PrintStream out, Clock clock) {
        SqsClient sqs = aws.sqs();
        // The sender only reads membership, so the commit concurrency is irrelevant here.
        var dynamo = aws.dynamoDb();
        // The ttl only matters for writing whole entries, which the webhook does; the sender adds counts.
        SyncHistory history = config.historyEnabled()
                ? new DynamoSyncHistory(dynamo, config.tableName(), Duration.ZERO, clock) : SyncHistory.DISABLED;
        return create(config, new DynamoMembershipStore(dynamo, config.tableName(), 1, Duration.ZERO, clock),
                new DynamoCohortStore(dynamo, config.tableName(), Duration.ZERO, clock),
                new SqsDeltaQueue(sqs, config.deltaQueueUrl()), new SqsDeadLetterQueue(sqs, config.dlqUrl()),
                new SecretsManagerSource(aws.secretsManager()),
                transports, history, out, clock);
    }

    /**
     * Wires a service around the given ports, every connection's Segment calls through {@code segment}: for
     * tools that drive the real handler with their own adapters (the reliability suite injects faults
     * through them, the benchmark counts through them; wrap it with {@link SenderHandler#of}).
     */
    public static SenderService create(SenderConfig config, MembershipStore store, CohortStore cohorts,
                                       DelayedDeltaQueue requeue, DeadLetterQueue deadLetters, SecretSource secrets,
                                       SegmentTransport segment, SyncHistory history, PrintStream out, Clock clock) {
        return create(config, store, cohorts, requeue, deadLetters, secrets, url -> segment, history, out, clock);
    }

    /**
     * @param transports the transport for a Segment base URL; each connection's URL comes from the Segment
     *                   secret (its own region or endpoint) or else the deployment's {@code segmentBaseUrl}
     */
    static SenderService create(SenderConfig config, MembershipStore store, CohortStore cohorts,
                                DelayedDeltaQueue requeue, DeadLetterQueue deadLetters, SecretSource secrets,
                                Function<URI, SegmentTransport> transports, SyncHistory history, PrintStream out,
                                Clock clock) {
        CachedSecret<SegmentDestinations> destinations = new CachedSecret<>(secrets, config.segmentSecretId(),
                SegmentDestinations::parse, config.secretCacheTtl(), clock);
        Map<String, SegmentDelivery> deliveries = new ConcurrentHashMap<>();
        Function<String, SegmentDelivery> forConnection = connection -> deliveries.computeIfAbsent(connection, c -> {
            WriteKeySource key = new WriteKeySource() {
                @Override
                public String current() {
                    return destinations.get().forConnection(c).writeKey();
                }

                @Override
                public void refresh() {
                    destinations.refreshIfOlderThan(Duration.ZERO);
                }
            };
            // The base URL is resolved per request: the secret is read lazily (never at init) and may change.
            SegmentTransport transport = (body, writeKey, timeout) -> {
                URI base = destinations.get().forConnection(c).baseUrl();
                return transports.apply(base != null ? base : config.segmentBaseUrl()).postBatch(body, writeKey, timeout);
            };
            return SegmentDelivery.standard(transport, key, config.segmentTimeout(), clock);
        });
        SendSettings settings = new SendSettings(config.traitPrefix(), config.messageIdNamespace(),
                config.neverCommittedAfter(), config.aheadRetryDelay(), config.dryRun(), config.segmentCalls());
        SenderTelemetry telemetry = new SenderTelemetry(new JsonLog("sender", out, clock),
                () -> new Metrics(out, clock, Map.of("Function", "sender")), history, config.dryRun(),
                config.maxReceiveCount(), config.segmentCalls().tracks());
        return new SenderService(new SenderCore(settings, store, cohorts, requeue, deadLetters, forConnection, clock),
                telemetry, clock);
    }
}
