package io.cohortsync.reconciler;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.reconcile.JobOutcome;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.reconcile.ReconcileService;
import io.cohortsync.sync.CohortSyncService;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.sync.SyncResult;
import io.cohortsync.testkit.InMemoryState;
import io.cohortsync.testkit.MutableClock;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Both cores (the webhook's {@link CohortSyncService} and the {@link ReconcileService}) on one
 * {@link InMemoryState}, with a clock the test moves: what a test of the rules needs, no network.
 */
final class Core {
    static final CohortRef COHORT = new CohortRef("2195193", "1457721");

    final InMemoryState state = new InMemoryState();
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));
    MembershipStore store = state.members;
    SessionStore sessions = state.sessions;
    ReconcileConfig config = new ReconcileConfig(MassExitPolicy.DEFAULT, 50_000, 1_000, 0, Duration.ofSeconds(30),
            Duration.ofMinutes(15));
    boolean followRenames = true;
    final List<JobOutcome> outcomes = new ArrayList<>();

    Core withConfig(ReconcileConfig other) {
        this.config = other;
        return this;
    }

    /** Puts a wrapper (fault injection) between both cores and the membership table. */
    Core withStore(UnaryOperator<MembershipStore> wrap) {
        this.store = wrap.apply(state.members);
        return this;
    }

    /** Puts a wrapper (fault injection, counting) between both cores and the session receipts. */
    Core withSessions(UnaryOperator<SessionStore> wrap) {
        this.sessions = wrap.apply(state.sessions);
        return this;
    }

    CohortSyncService webhook() {
        return new CohortSyncService(store, state.deltas, sessions, state.cohorts, state.jobs, followRenames, clock);
    }

    ReconcileService reconciler() {
        return new ReconcileService(store, sessions, state.cohorts, state.progress, state.jobs, state.deltas,
                config, clock);
    }

    SyncResult add(String name, List<String> ids) {
        return webhook().apply(export(Action.ADD_MEMBERS, name, null, 1, 1, ids));
    }

    SyncResult remove(String name, List<String> ids) {
        return webhook().apply(export(Action.REMOVE_MEMBERS, name, null, 1, 1, ids));
    }

    SyncResult page(String name, String session, int page, int total, List<String> ids) {
        return webhook().apply(export(Action.MEMBERS, name, session, page, total, ids));
    }

    /** A full sync of {@code ids} in pages of {@code pageSize}; returns the last page's result. */
    SyncResult fullSync(String name, String session, List<String> ids, int pageSize) {
        int pages = Math.max(1, (ids.size() + pageSize - 1) / pageSize);
        SyncResult last = null;
        for (int p = 0; p < pages; p++) {
            last = page(name, session, p + 1, pages, ids.subList(p * pageSize, Math.min(ids.size(), (p + 1) * pageSize)));
        }
        return last;
    }

    static CohortExport export(Action action, String name, String session, int page, int total, List<String> ids) {
        return new CohortExport(action, COHORT, name, session, page, total, ids, ids.size(), Map.of());
    }

    /** Runs queued jobs (each to its end or its chunk limit) until none is left; at most {@code max} runs. */
    int drain(int max) {
        int runs = 0;
        for (ReconcileJob job; (job = state.jobs.poll()) != null; ) {
            if (++runs > max) {
                throw new AssertionError("reconcile did not finish within " + max + " runs");
            }
            outcomes.add(reconciler().run(job, clock.instant().plusSeconds(3600)));
        }
        return runs;
    }

    int drain() {
        return drain(100_000);
    }

    /** The last delta queued per user: what Segment ends with once the sender has sent everything current. */
    Map<String, Delta> lastDeltas() {
        Map<String, Delta> last = new LinkedHashMap<>();
        state.deltas.snapshot().forEach(d -> last.merge(d.distinctId(), d, (a, b) -> b.version() >= a.version() ? b : a));
        return last;
    }

    static List<String> users(String prefix, int from, int count) {
        List<String> ids = new ArrayList<>(count);
        for (int i = from; i < from + count; i++) {
            ids.add(prefix + i + "@example.com");
        }
        return ids;
    }
}
