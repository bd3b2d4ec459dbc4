package io.cohortsync.sync;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Diff;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Applies one Mixpanel export call to the membership table, announcing every real change on the
 * delta queue. The protocol is enqueue-then-commit: deltas are queued first, then each change is
 * committed with a conditional write on the version it was computed from. A crash in between leaves
 * a delta ahead of the table, which the sender never sends; Mixpanel's retry recomputes and commits
 * the same change. Replays find nothing to change and cost reads only.
 *
 * <p>The work of a call is bounded by its own page: a session's exit pass and a rename's
 * re-announcement are queued to the reconciler (jobs first, then the commit that makes them
 * current), never done here. README "Full syncs, renames and the reconciler".
 */
public final class CohortSyncService {
    /** Deltas and commits go in slices of this many users. */
    static final int SLICE = 1000;
    /** Rounds of re-read + re-diff after lost races before giving up with a retryable error. */
    static final int MAX_ATTEMPTS = 4;
    /** Ids per re-check job, as JSON: well inside SQS's 256 KiB message with the rest of the job. */
    static final int RECHECK_ID_BYTES = 200_000;
    /**
     * A cohort's sync record is written at most this often (README "Cohorts that stop syncing"): Mixpanel calls
     * every 30 minutes, so this is about one small write per cohort per hour, and a replay within the hour
     * writes nothing. Far below the silence threshold (72 h by default), so it never makes a cohort look silent.
     */
    public static final Duration RECORD_EVERY = Duration.ofHours(1);

    private final MembershipStore store;
    private final DeltaQueue queue;
    private final SessionStore sessions;
    private final CohortStore cohorts;
    private final ReconcileQueue jobs;
    private final boolean followRenames;
    private final Clock clock;

    /**
     * @param followRenames whether a new name re-announces members (README "Renames"); when false the
     *                      name of each call is used as it comes and old traits are left as they were
     */
    public CohortSyncService(MembershipStore store, DeltaQueue queue, SessionStore sessions, CohortStore cohorts,
                             ReconcileQueue jobs, boolean followRenames, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.cohorts = Objects.requireNonNull(cohorts, "cohorts");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.followRenames = followRenames;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public SyncResult apply(CohortExport export) {
        Instant observedAt = clock.instant();
        boolean desired = export.action() != Action.REMOVE_MEMBERS;
        Cohort cohort = current(export, observedAt);
        Tally tally = new Tally();
        for (List<String> slice : slices(export.distinctIds())) {
            converge(cohort, slice, desired, export, observedAt, tally);
        }
        int rechecked = recheckLateWrites(export, cohort.state, tally, observedAt);
        int listedChanges = tally.committed;
        int unchanged = export.distinctIds().size() - listedChanges;
        int enters = desired ? listedChanges : 0;
        int exits = desired ? 0 : listedChanges;
        SyncResult result = export.action() != Action.MEMBERS
                ? new SyncResult(export, enters, exits, unchanged, tally.queued, SyncResult.SessionStatus.NONE, 0, 0)
                : fullSync(export, cohort.state, observedAt, tally, enters, unchanged);
        return result.completed(cohort.renameStarted, observedAt, tally.marked, rechecked)
                .retirement(cohort.unretired, cohort.retiring);
    }

    /**
     * README "Cohorts that stop syncing": records the call when the cohort's record is older than
     * {@link #RECORD_EVERY}, missing, or a retirement is running or done (every call then: the retirement must
     * see it, and a retired cohort that syncs again is un-retired at once).
     */
    private void recordSync(CohortRef ref, CohortState state, CohortExport export, Instant observedAt) {
        CohortState.Activity activity = state.activity();
        boolean due = activity == null || !activity.lastSync().plus(RECORD_EVERY).isAfter(observedAt)
                || state.retiring() || state.retiredAt() != null;
        if (due) {
            cohorts.recordSync(ref, state, observedAt, export.action().wireName());
        }
    }

    /**
     * README "Late writes": after its commits, a call that changed someone reads the cohort again. If a
     * rename or a session's completion committed since its first read, the jobs that followed that
     * commit may have passed its users before its writes landed: queue a re-check of them. (A page of
     * the session that completed needs none for exits: its users are listed.) @return users queued
     */
    private int recheckLateWrites(CohortExport export, CohortState read, Tally tally, Instant observedAt) {
        if (tally.committedIds.isEmpty()) {
            return 0;
        }
        CohortState now = cohorts.load(export.cohort()).orElse(read);
        boolean renamed = now.nameVersion() != read.nameVersion();
        boolean completed = now.epoch() != read.epoch() && !(export.action() == Action.MEMBERS
                && Objects.equals(export.sessionId(), now.reconcileSession()));
        if (!renamed && !completed) {
            return 0;
        }
        jobs.enqueue(ReconcileJob.rechecks(export.cohort(), now.epoch(), now.reconcileSession(), tally.committedIds,
                RECHECK_ID_BYTES, observedAt));
        return tally.committedIds.size();
    }

    /** The cohort's state as this call must see it: created, migrated or renamed first if need be. */
    private Cohort current(CohortExport export, Instant observedAt) {
        CohortRef ref = export.cohort();
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            Optional<CohortState> loaded = cohorts.load(ref);
            if (loaded.isEmpty()) {
                if (store.hasLegacyState(ref)) {
                    // State of an earlier version, in one partition: the reconciler moves it first.
                    jobs.enqueue(List.of(new ReconcileJob(ReconcileJob.Kind.MIGRATE, ref, 0, null, 0, observedAt)));
                    cohorts.startMigration(ref, export.cohortName());
                    throw new MigrationPendingException();
                }
                CohortState first = CohortState.first(export.cohortName(), observedAt, export.action().wireName());
                if (cohorts.create(ref, first)) {
                    return new Cohort(first, 0, null, false);
                }
                continue; // created concurrently: read what the other request stored
            }
            CohortState state = loaded.get();
            if (state.migrating()) {
                // Queued again on every attempt while it lasts: a lost MIGRATE job must not leave the cohort
                // answering 503 for good. Copies are harmless (each move is conditional, then a delete).
                jobs.enqueue(List.of(new ReconcileJob(ReconcileJob.Kind.MIGRATE, ref, 0, null, 0, observedAt)));
                throw new MigrationPendingException();
            }
            if (attempt == 1) {
                recordSync(ref, state, export, observedAt);
            }
            Instant unretired = state.retiredAt();
            boolean retiring = state.retiring();
            if (state.name().equals(export.cohortName())) {
                return new Cohort(state, 0, unretired, retiring);
            }
            if (!followRenames) {
                // Renames are not followed: this call's name is the trait, old traits stay as they were.
                return new Cohort(new CohortState(export.cohortName(), state.nameVersion(), state.names(),
                        state.epoch(), state.reconcileSession(), state.reconciling(), false), 0, unretired, retiring);
            }
            CohortState next = state.renamed(export.cohortName());
            jobs.enqueue(ReconcileJob.perShard(ReconcileJob.Kind.RENAME, ref, next.nameVersion(), null, observedAt));
            if (cohorts.rename(ref, state, next)) {
                return new Cohort(next, next.nameVersion(), unretired, retiring);
            }
            // Another request renamed first: its jobs are queued; look again.
        }
        throw new DependencyUnavailableException("DynamoDB", "the cohort item kept changing under concurrent requests",
                null);
    }

    private SyncResult fullSync(CohortExport export, CohortState state, Instant observedAt, Tally tally, int enters,
                                int unchanged) {
        String sessionId = export.session().orElseGet(() -> singlePageSessionId(export, state));
        SessionKey key = new SessionKey(export.cohort(), sessionId);
        // A replayed page (Mixpanel's retry, a restart from the top) is recorded already: it costs reads only.
        if (export.totalPages() == 1 && sessions.outcome(key).isPresent()) {
            return new SyncResult(export, enters, 0, unchanged, tally.queued, SyncResult.SessionStatus.ALREADY_DECIDED,
                    1, 0);
        }
        int pages = sessions.pagesIfRecorded(key, export.page()).orElseGet(() -> sessions.recordPage(key,
                export.page(), export.totalPages(), new LinkedHashSet<>(export.distinctIds())));
        if (pages < export.totalPages()) {
            return new SyncResult(export, enters, 0, unchanged, tally.queued, SyncResult.SessionStatus.INCOMPLETE,
                    pages, 0);
        }
        CohortState current = state;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            if (sessions.outcome(key).isPresent()) {
                return new SyncResult(export, enters, 0, unchanged, tally.queued,
                        SyncResult.SessionStatus.ALREADY_DECIDED, pages, 0);
            }
            long epoch = current.epoch() + 1;
            jobs.enqueue(ReconcileJob.perShard(ReconcileJob.Kind.EXIT_COUNT, export.cohort(), epoch, sessionId,
                    observedAt));
            if (cohorts.completeSession(export.cohort(), current, key, pages)) {
                return new SyncResult(export, enters, 0, unchanged, tally.queued, SyncResult.SessionStatus.RECONCILING,
                        pages, 0);
            }
            // Another session completed (or this one, by a racing retry) first: look again.
            current = cohorts.load(export.cohort()).orElseThrow();
        }
        throw new DependencyUnavailableException("DynamoDB", "sessions of this cohort kept completing concurrently",
                null);
    }

    /**
     * A one-page export may come without a session id. Its id is derived from the epoch it completes
     * and its members, so a retry of the same call is the same session.
     */
    static String singlePageSessionId(CohortExport export, CohortState state) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
        export.distinctIds().stream().sorted().forEach(id -> {
            sha.update(id.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
        });
        return "single-" + (state.epoch() + 1) + "-" + HexFormat.of().formatHex(sha.digest(), 0, 16);
    }

    /**
     * Brings {@code ids} to {@code desired}: diff, enqueue, commit (and, while an exit pass is pending,
     * mark listed members whose state does not change); users whose write lost a race are re-read
     * (consistently) and re-diffed, up to {@link #MAX_ATTEMPTS} rounds.
     */
    private void converge(Cohort cohort, List<String> ids, boolean desired, CohortExport export, Instant observedAt,
                          Tally tally) {
        CohortState state = cohort.state;
        CohortRef ref = export.cohort();
        // The race rule's marks, while an exit pass is pending; not for a page of that pass's own session
        // (a retry): its users are in the session, the pass never exits them.
        boolean mark = state.reconciling() && !(export.action() == Action.MEMBERS
                && Objects.equals(export.sessionId(), state.reconcileSession()));
        List<String> pending = ids;
        boolean consistent = false;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            Map<String, Membership> stored = store.read(ref, pending, consistent);
            Diff.Page diff = Diff.page(pending, stored, desired, export.userIds(), export.anonymousIds(), state,
                    followRenames, mark);
            List<Change> changes = diff.changes();
            Map<String, Membership> marks = diff.marks();
            Set<String> conflicts = new LinkedHashSet<>();
            if (!changes.isEmpty()) {
                queue.enqueue(changes.stream().map(c -> Delta.of(ref, state.name(), c, observedAt,
                        export.extraTraits().get(c.distinctId()))).toList());
                tally.queued += changes.size();
                Set<String> lost = store.commit(ref, changes);
                tally.committed += changes.size() - lost.size();
                changes.stream().map(Change::distinctId).filter(id -> !lost.contains(id))
                        .forEach(tally.committedIds::add);
                conflicts.addAll(lost);
            }
            if (!marks.isEmpty()) {
                Set<String> lost = store.mark(ref, marks, state.epoch());
                tally.marked += marks.size() - lost.size();
                conflicts.addAll(lost);
            }
            if (conflicts.isEmpty()) {
                return;
            }
            pending = List.copyOf(conflicts);
            consistent = true;
        }
        throw new DependencyUnavailableException("DynamoDB", pending.size()
                + " memberships kept changing under concurrent requests", null);
    }

    static List<List<String>> slices(List<String> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        int n = (ids.size() + SLICE - 1) / SLICE;
        return IntStream.range(0, n).mapToObj(i -> ids.subList(i * SLICE, Math.min(ids.size(), (i + 1) * SLICE)))
                .toList();
    }

    /** @param unretired the retirement this call cleared, or null; @param retiring a retirement was running */
    private record Cohort(CohortState state, long renameStarted, Instant unretired, boolean retiring) {
    }

    private static final class Tally {
        /** Bounded by the call's own page. */
        final Set<String> committedIds = new LinkedHashSet<>();
        int committed;
        int queued;
        int marked;
    }
}
