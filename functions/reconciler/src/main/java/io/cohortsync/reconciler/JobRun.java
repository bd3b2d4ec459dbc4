package io.cohortsync.reconciler;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.reconcile.JobOutcome;

/**
 * One decoded job's run, for {@link ReconcilerTelemetry}: what the core reported, or what stopped it.
 *
 * @param outcome     the core's report (null: the run failed)
 * @param unavailable a dependency failure (the job comes back and resumes from its checkpoint), or null
 * @param bug         an exception of ours (it comes back too), or null
 */
record JobRun(QueuedJob record, ReconcileJob job, JobOutcome outcome, DependencyUnavailableException unavailable,
              RuntimeException bug) {

    static JobRun ran(QueuedJob record, ReconcileJob job, JobOutcome outcome) {
        return new JobRun(record, job, outcome, null, null);
    }

    static JobRun failed(QueuedJob record, ReconcileJob job, DependencyUnavailableException unavailable,
                         RuntimeException bug) {
        return new JobRun(record, job, null, unavailable, bug);
    }

    /** A job that ran (done, continued, waiting or obsolete) is done with; a failed one comes back. */
    boolean acknowledged() {
        return outcome != null;
    }
}
