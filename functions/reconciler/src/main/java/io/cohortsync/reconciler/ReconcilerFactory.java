package io.cohortsync.reconciler;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.aws.SqsReconcileQueue;
import io.cohortsync.domain.CohortRegistry;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.reconcile.ReconcileService;
import io.cohortsync.reconcile.SilenceCheck;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * The one place that wires the reconciler's real collaborators. Nothing here opens a connection or
 * captures a time or a random value (SnapStart).
 */
public final class ReconcilerFactory {
    /** Session outcomes written by the reconciler live as long as the webhook keeps page receipts (72 h). */
    private static final Duration SESSION_TTL = Duration.ofHours(72);
    /** README "Cohorts that stop syncing": Mixpanel itself falls back to a full sync after 3 days of failures. */
    static final long DEFAULT_SILENCE_HOURS = 72;

    private ReconcilerFactory() {
    }

    static ReconcilerService fromEnvironment(Map<String, String> env) {
        return wire(ReconcilerConfig.fromEnvironment(env), env, AwsClients.fromLambdaEnvironment(env), Clock.systemUTC(),
                System.out);
    }

    /** The real adapters on {@code aws}'s clients; logs and metrics to {@code out} (SnapStart priming drops them). */
    static ReconcilerService wire(ReconcilerConfig config, Map<String, String> env, AwsClients aws, Clock clock,
                                  PrintStream out) {
        DynamoDbClient dynamo = aws.dynamoDb();
        SqsDeltaQueue sqs = new SqsDeltaQueue(aws.sqs(), config.deltaQueueUrl());
        // Exits are queued before their commit, like the webhook's: the delay lets the commit land first.
        DeltaQueue deltas = batch -> sqs.enqueueDelayed(batch, config.deltaDelay());
        Duration sessionTtl = Duration.ofHours(Long.parseLong(env.getOrDefault("SESSION_TTL_HOURS",
                Long.toString(SESSION_TTL.toHours()))));
        Duration keep = config.historyTtl().isZero() ? Duration.ofDays(30) : config.historyTtl();
        DynamoCohortStore cohorts = new DynamoCohortStore(dynamo, config.tableName(), sessionTtl, clock);
        Duration silenceAfter = Duration.ofHours(Long.parseLong(env.getOrDefault("SILENCE_AFTER_HOURS",
                Long.toString(DEFAULT_SILENCE_HOURS))));
        return create(config,
                new DynamoMembershipStore(dynamo, config.tableName(), config.commitConcurrency(), config.exitedTtl(), clock),
                new DynamoSessionStore(dynamo, config.tableName(), sessionTtl, clock),
                cohorts,
                new DynamoReconcileStore(dynamo, config.tableName(), keep, clock),
                new SqsReconcileQueue(aws.sqs(), config.reconcileQueueUrl()), deltas,
                config.historyTtl().isZero() ? SyncHistory.DISABLED
                        : new DynamoSyncHistory(dynamo, config.tableName(), config.historyTtl(), clock),
                new SilenceCheck(cohorts, silenceAfter, clock), out, clock);
    }

    /** Wires a service around the given ports (the local stack, the reliability suite and the bench use it). */
    public static ReconcilerService create(ReconcilerConfig config, MembershipStore store, SessionStore sessions,
                                           CohortStore cohorts, ReconcileStore progress, ReconcileQueue jobs,
                                           DeltaQueue deltas, SyncHistory history, PrintStream out, Clock clock) {
        return create(config, store, sessions, cohorts, progress, jobs, deltas, history, null, out, clock);
    }

    /**
     * As above, with the scheduled silence check ({@code silence}: null where nothing schedules it; a check
     * message is then logged as an error and dropped).
     */
    public static ReconcilerService create(ReconcilerConfig config, MembershipStore store, SessionStore sessions,
                                           CohortStore cohorts, ReconcileStore progress, ReconcileQueue jobs,
                                           DeltaQueue deltas, SyncHistory history, SilenceCheck silence,
                                           PrintStream out, Clock clock) {
        ReconcileService reconcile = new ReconcileService(store, sessions, cohorts, progress, jobs, deltas,
                config.reconcile(), clock);
        return new ReconcilerService(reconcile, silence, config.deadlineMargin(), history, clock,
                new JsonLog("reconciler", out, clock), () -> new Metrics(out, clock, Map.of("Function", "reconciler")));
    }

    /** A silence check over {@code registry} (tests and tools that wire their own ports). */
    public static SilenceCheck silenceCheck(CohortRegistry registry, Duration silenceAfter, Clock clock) {
        return new SilenceCheck(registry, silenceAfter, clock);
    }
}
