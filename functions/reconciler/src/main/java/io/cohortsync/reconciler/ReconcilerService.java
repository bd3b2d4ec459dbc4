package io.cohortsync.reconciler;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.reconcile.ReconcileService;
import io.cohortsync.reconcile.SilenceCheck;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One SQS batch of reconcile jobs: decode each, run it until done or the deadline, and say which
 * records must come back. This is the one place where a job's outcome becomes an SQS answer: a
 * record is acknowledged when its job finished, was continued (its continuation is queued), waits
 * (re-queued with a delay) or is obsolete; a dependency failure or a bug brings it back (the job
 * resumes from its checkpoint); poison comes back until SQS moves it to the reconcile DLQ. The hourly
 * schedule's message ({@link SilenceCheck#MESSAGE}) runs the silence check instead (README "Cohorts that
 * stop syncing").
 */
public final class ReconcilerService {
    private final ReconcileService reconcile;
    /** Null where nothing schedules the check. */
    private final SilenceCheck silence;
    private final Duration deadlineMargin;
    private final Clock clock;
    private final ReconcilerTelemetry telemetry;

    public ReconcilerService(ReconcileService reconcile, SilenceCheck silence, Duration deadlineMargin,
                             SyncHistory history, Clock clock, JsonLog log, Supplier<Metrics> metrics) {
        this.reconcile = reconcile;
        this.silence = silence;
        this.deadlineMargin = deadlineMargin;
        this.clock = clock;
        this.telemetry = new ReconcilerTelemetry(log, metrics, history, clock);
    }

    List<String> handle(List<QueuedJob> records, Duration remaining) {
        Instant deadline = clock.instant().plus(remaining).minus(deadlineMargin);
        List<String> failed = new ArrayList<>();
        for (QueuedJob record : records) {
            if (!runOne(record, deadline)) {
                failed.add(record.messageId());
            }
        }
        return failed;
    }

    /** @return whether the record is done with (acknowledged) */
    private boolean runOne(QueuedJob record, Instant deadline) {
        if (SilenceCheck.isCheckMessage(record.body())) {
            return checkSilence();
        }
        long started = System.nanoTime();
        ReconcileJob job;
        try {
            job = ReconcileJobCodec.decode(record.body());
        } catch (MalformedDeltaException e) {
            // Poison: it can never succeed. It comes back until SQS moves it to the reconcile DLQ (alarmed).
            telemetry.poison(record, e.getMessage());
            return false;
        }
        JobRun run;
        try {
            run = JobRun.ran(record, job, reconcile.run(job, deadline));
        } catch (DependencyUnavailableException e) {
            run = JobRun.failed(record, job, e, null);
        } catch (RuntimeException e) {
            run = JobRun.failed(record, job, null, e);
        }
        telemetry.report(run, (System.nanoTime() - started) / 1e6);
        return run.acknowledged();
    }

    /**
     * The silence check (README "Cohorts that stop syncing"). Always acknowledged: the schedule invokes
     * asynchronously and the next hour's run is the retry; a failure is logged and counted.
     */
    private boolean checkSilence() {
        long started = System.nanoTime();
        if (silence == null) {
            telemetry.silenceNotWired();
            return true;
        }
        try {
            telemetry.silence(silence.run(), (System.nanoTime() - started) / 1e6);
        } catch (DependencyUnavailableException e) {
            telemetry.silenceFailed(e);
        }
        return true;
    }
}
