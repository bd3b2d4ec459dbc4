package io.cohortsync.reconciler;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.reconcile.JobOutcome;
import io.cohortsync.reconcile.SilenceCheck;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The reconciler's log line, EMF metrics and sync-history entry per job, all read from its
 * {@link JobRun}. Metric names are what template.yaml's alarms and dashboard read.
 */
final class ReconcilerTelemetry {
    private final JsonLog log;
    private final Supplier<Metrics> metrics;
    private final SyncHistory history;
    private final Clock clock;

    ReconcilerTelemetry(JsonLog log, Supplier<Metrics> metrics, SyncHistory history, Clock clock) {
        this.log = log;
        this.metrics = metrics;
        this.history = history;
        this.clock = clock;
    }

    /** A message that is not a job: it comes back until SQS moves it to the reconcile DLQ (alarmed). */
    void poison(QueuedJob record, String error) {
        Map<String, Object> fields = received(record);
        fields.put("error", error);
        log.error("reconcile message is not a job: left for the DLQ", fields);
        metrics.get().count("ReconcileJobs", 1).count("ReconcilePoison", 1).count("ReconcileErrors", 1).flush();
    }

    void report(JobRun run, double millis) {
        ReconcileJob job = run.job();
        JobOutcome outcome = run.outcome();
        Map<String, Object> fields = received(run.record());
        fields.put("kind", job.kind().name());
        if (!job.cohort().isDefaultConnection()) {
            fields.put("connection", job.cohort().connection());
        }
        fields.put("projectId", job.cohort().projectId());
        fields.put("cohortId", job.cohort().cohortId());
        fields.put("generation", job.generation());
        if (job.sessionId() != null) {
            fields.put("sessionId", job.sessionId());
        }
        fields.put("shard", job.shard());
        if (run.unavailable() != null) {
            fields.put("dependency", run.unavailable().dependency());
            fields.put("error", run.unavailable().getMessage());
        }
        if (run.bug() != null) {
            // Our bug: class and first frame only (messages of unexpected exceptions may quote data).
            fields.put("exception", run.bug().getClass().getName());
            fields.put("at", run.bug().getStackTrace().length > 0 ? run.bug().getStackTrace()[0].toString() : "");
        }
        long ageMs = Math.max(0, Duration.between(job.queuedAt(), clock.instant()).toMillis());
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        fields.put("jobAgeMs", ageMs);
        if (outcome != null) {
            describe(outcome, fields);
            recordHistory(job, outcome, millis);
        }
        if (!run.acknowledged()) {
            log.error("reconcile job failed: it comes back and resumes from its checkpoint", fields);
        } else if (outcome.status() == JobOutcome.Status.EXPIRED) {
            log.error("exit-pass job too old to trust its session's ids (their TTL is near): dropped; "
                    + "the cohort's next full sync exits whoever is absent", fields);
        } else if (outcome.decision() == ReconcileStore.Phase.HELD) {
            log.error("full sync held: it would exit too many members; nothing was exited", fields);
        } else {
            log.info("reconcile job handled", fields);
        }
        long changed = outcome == null ? 0 : outcome.changed();
        metrics.get().dimension("Kind", job.kind().name())
                .count("ReconcileJobs", 1)
                .count("ReconcileErrors", run.acknowledged() ? 0 : 1)
                .count("ReconcilePoison", 0)
                .count("ReconcileChunks", outcome == null ? 0 : outcome.chunks())
                .count("ReconcileScanned", outcome == null ? 0 : outcome.scanned())
                // A re-check reports its re-announcements as matched and its exits as changed.
                .count("ReconcileExits", job.kind() == ReconcileJob.Kind.EXIT_APPLY
                        || job.kind() == ReconcileJob.Kind.RECHECK ? changed : 0)
                .count("ReconcileRenamed", job.kind() == ReconcileJob.Kind.RENAME ? changed
                        : job.kind() == ReconcileJob.Kind.RECHECK && outcome != null ? outcome.matched() : 0)
                .count("ReconcileMigrated", job.kind() == ReconcileJob.Kind.MIGRATE ? changed : 0)
                .count("ReconcileWaiting", outcome != null && outcome.status() == JobOutcome.Status.WAITING ? 1 : 0)
                .count("ReconcileDropped", outcome != null && (outcome.status() == JobOutcome.Status.NEVER_COMMITTED
                        || outcome.status() == JobOutcome.Status.EXPIRED) ? 1 : 0)
                .count("HeldSessions", outcome != null && outcome.decision() == ReconcileStore.Phase.HELD ? 1 : 0)
                .millis("ReconcileJobAge", ageMs)
                .flush();
    }

    private static Map<String, Object> received(QueuedJob record) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("sqsMessageId", record.messageId());
        fields.put("receiveCount", record.receiveCount());
        return fields;
    }

    private static void describe(JobOutcome outcome, Map<String, Object> fields) {
        fields.put("status", outcome.status().name());
        fields.put("chunks", outcome.chunks());
        fields.put("scanned", outcome.scanned());
        fields.put("matched", outcome.matched());
        fields.put("changed", outcome.changed());
        if (outcome.decision() != null) {
            fields.put("decision", outcome.decision().name());
        }
        ReconcileStore.Summary t = outcome.total();
        if (t != null) {
            Map<String, Object> total = new LinkedHashMap<>();
            total.put("phase", t.phase().name());
            total.put("shardsCounted", t.shardsCounted());
            total.put("shardsDone", t.shardsDone());
            total.put("members", t.members());
            total.put("matched", t.matched());
            total.put("changed", t.changed());
            total.put("scanned", t.scanned());
            fields.put("total", total);
        }
    }

    /** One history entry when a piece of work as a whole ends (held, applied, renamed, migrated). */
    private void recordHistory(ReconcileJob job, JobOutcome outcome, double millis) {
        ReconcileStore.Summary t = outcome.total();
        boolean held = outcome.decision() == ReconcileStore.Phase.HELD;
        boolean finished = outcome.status() == JobOutcome.Status.DONE && t != null && t.phase() == ReconcileStore.Phase.DONE;
        if (!held && !finished) {
            return;
        }
        String action = switch (job.kind()) {
            case EXIT_COUNT, EXIT_APPLY -> "reconcile";
            case RENAME -> "rename";
            case MIGRATE -> "migrate";
            case RECHECK -> null; // a few users of one call: its counts are in the metrics and the log line
        };
        if (action == null) {
            return;
        }
        boolean exitPass = action.equals("reconcile");
        try {
            HistoryEntry.Changed changed = new HistoryEntry.Changed(0, exitPass && !held ? (int) t.changed() : 0, 0,
                    job.kind() == ReconcileJob.Kind.RENAME ? (int) t.changed() : 0,
                    held ? "HELD" : exitPass ? "APPLIED" : "NONE", exitPass ? (int) t.matched() : 0);
            history.record(HistoryEntry.ofReconcile(job.cohort(), clock.instant(), action, job.sessionId(), changed,
                    held ? "held" : "success", millis));
        } catch (RuntimeException e) {
            // History is for people; the work itself is done. Say so and go on.
            log.warn("sync history not updated", Map.of("cohortId", job.cohort().cohortId(),
                    "error", e.getClass().getSimpleName()));
        }
    }

    /** The check was asked for but this reconciler has none wired. */
    void silenceNotWired() {
        log.error("silence check asked for, but this reconciler has none wired: nothing checked", Map.of());
        metrics.get().count("SilenceCheckErrors", 1).flush();
    }

    void silenceFailed(DependencyUnavailableException e) {
        log.error("silence check failed: the next scheduled run tries again",
                Map.of("dependency", e.dependency(), "error", e.getMessage()));
        metrics.get().count("SilenceCheckErrors", 1).flush();
    }

    /**
     * One line per silent cohort (ids, name, how long, its last call) and the {@code SilentCohorts} count, zero
     * included, so the alarm sees data every hour.
     */
    void silence(SilenceCheck.Report report, double millis) {
        for (SilenceCheck.Silent s : report.silent()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            if (!s.cohort().isDefaultConnection()) {
                fields.put("connection", s.cohort().connection());
            }
            fields.put("projectId", s.cohort().projectId());
            fields.put("cohortId", s.cohort().cohortId());
            fields.put("cohortName", s.name());
            fields.put("silentForHours", Math.round(s.silentFor().toMinutes() / 6.0) / 10.0);
            fields.put("lastSync", s.lastSync().toString());
            fields.put("lastAction", s.lastAction());
            fields.put("syncsRecorded", s.syncs());
            log.warn("cohort silent: Mixpanel has not synced it for longer than SILENCE_AFTER_HOURS (deleted, or its "
                    + "export switched off?); its trait stays true until it syncs again or is retired", fields);
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("cohorts", report.cohorts());
        summary.put("watched", report.watched());
        summary.put("retired", report.retired());
        summary.put("silent", report.silent().size());
        summary.put("durationMs", Math.round(millis * 10) / 10.0);
        log.info("silence check done", summary);
        metrics.get().count("SilentCohorts", report.silent().size()).count("SilenceCheckErrors", 0).flush();
    }
}
