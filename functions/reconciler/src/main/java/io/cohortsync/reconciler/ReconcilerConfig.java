package io.cohortsync.reconciler;

import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.sync.MassExitPolicy;

import java.time.Duration;
import java.util.Map;

/**
 * The reconciler's settings, all from environment variables (README "Configuration").
 *
 * @param reconcile         passes, chunks and the mass-exit guard
 * @param commitConcurrency conditional writes in flight per chunk
 * @param deltaDelay        SQS delay of the deltas it queues (as the webhook's: the commit lands first)
 * @param exitedTtl         how long an exited member's item is kept (0: for ever)
 * @param historyTtl        how long reconcile summaries and history entries are kept (0: no history)
 * @param deadlineMargin    kept back from the invocation's time for the last chunk and the continuation
 */
public record ReconcilerConfig(String tableName, String deltaQueueUrl, String reconcileQueueUrl,
                               ReconcileConfig reconcile, int commitConcurrency, Duration deltaDelay,
                               Duration exitedTtl, Duration historyTtl, Duration deadlineMargin) {
    /** A chunk (one Query page, up to 1,000 conditional writes at 16 in flight) takes a few seconds at most. */
    public static final Duration DEFAULT_DEADLINE_MARGIN = Duration.ofSeconds(20);

    public static ReconcilerConfig fromEnvironment(Map<String, String> env) {
        MassExitPolicy policy = new MassExitPolicy(Double.parseDouble(env.getOrDefault("MASS_EXIT_MAX_SHARE", "0.5")),
                Integer.parseInt(env.getOrDefault("MASS_EXIT_MIN_MEMBERS", "1000")));
        ReconcileConfig reconcile = new ReconcileConfig(policy,
                Integer.parseInt(env.getOrDefault("RECONCILE_PASS_IDS", Integer.toString(ReconcileConfig.DEFAULT_PASS_IDS))),
                Integer.parseInt(env.getOrDefault("RECONCILE_CHUNK", Integer.toString(ReconcileConfig.DEFAULT_CHUNK))),
                Integer.parseInt(env.getOrDefault("RECONCILE_MAX_CHUNKS", "0")),
                Duration.ofSeconds(30), Duration.ofMinutes(15),
                // Half the session TTL: the session's page receipts must outlive every pass over them.
                Duration.ofHours(Long.parseLong(env.getOrDefault("SESSION_TTL_HOURS", "72"))).dividedBy(2));
        long delay = Long.parseLong(env.getOrDefault("DELTA_DELAY_SECONDS", "5"));
        if (delay < 0 || delay > DelayedDeltaQueue.MAX_DELAY_SECONDS) {
            throw new IllegalStateException("DELTA_DELAY_SECONDS must be 0.." + DelayedDeltaQueue.MAX_DELAY_SECONDS
                    + " (the SQS maximum), was " + delay);
        }
        return new ReconcilerConfig(required(env, "TABLE_NAME"), required(env, "DELTA_QUEUE_URL"),
                required(env, "RECONCILE_QUEUE_URL"), reconcile,
                Integer.parseInt(env.getOrDefault("COMMIT_CONCURRENCY", "16")), Duration.ofSeconds(delay),
                Duration.ofDays(Long.parseLong(env.getOrDefault("EXITED_TTL_DAYS", "30"))),
                Duration.ofDays(Long.parseLong(env.getOrDefault("HISTORY_TTL_DAYS", "30"))),
                DEFAULT_DEADLINE_MARGIN);
    }

    private static String required(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("environment variable " + name + " is not set");
        }
        return value;
    }
}
