package io.cohortsync.webhook;

import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.SyncHistory;

import java.util.Objects;

/**
 * Everything the webhook talks to, as ports: the real adapters in {@link WebhookFactory}, wrapped or
 * in-memory ones in tests, the reliability suite and the bench.
 *
 * @param progress read by {@code GET /mixpanel/status} to show reconcile progress
 */
public record WebhookPorts(MembershipStore store, DeltaQueue queue, SessionStore sessions, CohortStore cohorts,
                           ReconcileQueue jobs, ReconcileStore progress, SyncHistory history, SecretSource secrets) {
    public WebhookPorts {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(sessions, "sessions");
        Objects.requireNonNull(cohorts, "cohorts");
        Objects.requireNonNull(jobs, "jobs");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(history, "history");
        Objects.requireNonNull(secrets, "secrets");
    }

    /** The same ports with another sync history. */
    public WebhookPorts withHistory(SyncHistory other) {
        return new WebhookPorts(store, queue, sessions, cohorts, jobs, progress, other, secrets);
    }
}
