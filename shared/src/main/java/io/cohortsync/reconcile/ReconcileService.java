package io.cohortsync.reconcile;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJob.Kind;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.ReconcileStore.Phase;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Runs one reconcile job (README "Full syncs, renames and the reconciler"): an exit pass (count,
 * then apply), a rename's re-announcement, or a migration, over one shard, in chunks with a
 * checkpoint after each. Every change goes enqueue-then-commit with conditional writes, exactly like
 * the webhook's, so a chunk redone after a crash or by a duplicate job has no second effect.
 */
public final class ReconcileService {
    /** Rounds of re-read + re-evaluate after lost races before the job fails (and SQS brings it back). */
    static final int MAX_ATTEMPTS = 4;

    private final MembershipStore store;
    private final SessionStore sessions;
    private final CohortStore cohorts;
    private final ReconcileStore progress;
    private final ReconcileQueue jobs;
    private final DeltaQueue deltas;
    private final ReconcileConfig config;
    private final Clock clock;

    public ReconcileService(MembershipStore store, SessionStore sessions, CohortStore cohorts, ReconcileStore progress,
                            ReconcileQueue jobs, DeltaQueue deltas, ReconcileConfig config, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.cohorts = Objects.requireNonNull(cohorts, "cohorts");
        this.progress = Objects.requireNonNull(progress, "progress");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.deltas = Objects.requireNonNull(deltas, "deltas");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Works on {@code job} until its shard is finished or {@code deadline} is near.
     *
     * @throws DependencyUnavailableException when DynamoDB or SQS fail (the message comes back; the
     *                                        checkpoint says where to resume)
     */
    public JobOutcome run(ReconcileJob job, Instant deadline) {
        CohortState state = cohorts.load(job.cohort()).orElse(null);
        JobOutcome.Status gate = gated(job, state);
        if (gate != null) {
            return JobOutcome.of(gate);
        }
        if (job.kind() == Kind.RECHECK) {
            return recheck(job, state);
        }
        boolean exitPass = job.kind() == Kind.EXIT_COUNT || job.kind() == Kind.EXIT_APPLY;
        if (exitPass && Duration.between(job.queuedAt(), clock.instant()).compareTo(config.exitJobMaxAge()) > 0) {
            return JobOutcome.of(JobOutcome.Status.EXPIRED);
        }
        Checkpoint cp = progress.checkpoint(job).orElse(Checkpoint.START);
        if (cp.done()) {
            // A redelivery or a duplicate: the shard's report may not have been acted on (a crash in between).
            Progress p = new Progress();
            afterDone(job, state, cp, p, true);
            return p.outcome(JobOutcome.Status.ALREADY_DONE);
        }
        Progress p = new Progress();
        Pass pass = null;
        while (true) {
            if (p.chunks > 0 && (clock.instant().isAfter(deadline)
                    || (config.maxChunksPerRun() > 0 && p.chunks >= config.maxChunksPerRun()))) {
                jobs.enqueue(List.of(job));
                return p.outcome(JobOutcome.Status.CONTINUED);
            }
            if (p.chunks > 0) {
                // A run can last minutes: a rename or a newer session may have committed since the last chunk.
                // Exits and announcements carry the cohort's current name, and a superseded job stops here.
                state = cohorts.load(job.cohort()).orElse(null);
                JobOutcome.Status moved = gated(job, state);
                if (moved != null) {
                    return p.outcome(moved);
                }
            }
            Checkpoint next;
            switch (job.kind()) {
                case EXIT_COUNT, EXIT_APPLY -> {
                    if (pass == null || !Objects.equals(pass.start, cp.passStart())) {
                        pass = Pass.of(sessions, new SessionKey(job.cohort(), job.sessionId()), job.shard(),
                                cp.passStart(), config.passIds());
                    }
                    next = exitChunk(job, state, cp, pass, p);
                }
                case RENAME -> next = renameChunk(job, state, cp, p);
                case MIGRATE -> next = migrateChunk(job, cp, p);
                default -> throw new IllegalStateException("unknown kind " + job.kind());
            }
            if (!progress.save(job, cp, next)) {
                // Another copy of this job moved the checkpoint first. It may be SQS delivering this very
                // message twice, and acknowledging here deletes it for both: if the winner then fails, nothing
                // brings the job back. A delayed copy does; it resumes from the winner's checkpoint, or finds
                // the shard done (chaos: a lost race followed by the winner's failure left a pass unfinished).
                jobs.enqueueDelayed(List.of(job), config.notYetCommittedWait());
                return p.outcome(JobOutcome.Status.LOST_RACE);
            }
            p.chunks++;
            cp = next;
            if (cp.done()) {
                afterDone(job, state, cp, p, false);
                return p.outcome(JobOutcome.Status.DONE);
            }
        }
    }

    /** {@link #gate}, with a waiting job queued again (or dropped once it can no longer be committed). */
    private JobOutcome.Status gated(ReconcileJob job, CohortState state) {
        JobOutcome.Status gate = gate(job, state);
        if (gate == JobOutcome.Status.WAITING) {
            if (Duration.between(job.queuedAt(), clock.instant()).compareTo(config.neverCommittedAfter()) > 0) {
                return JobOutcome.Status.NEVER_COMMITTED;
            }
            jobs.enqueueDelayed(List.of(job), config.notYetCommittedWait());
        }
        return gate;
    }

    /** Whether the job's work is still current: null to go on, else why not. */
    private static JobOutcome.Status gate(ReconcileJob job, CohortState state) {
        if (job.kind() == Kind.MIGRATE) {
            if (state == null) {
                // Queued before the request that found old state committed the migration's start.
                return JobOutcome.Status.WAITING;
            }
            return state.migrating() ? null : JobOutcome.Status.ALREADY_DONE;
        }
        if (state == null) {
            return JobOutcome.Status.WAITING;
        }
        if (job.kind() == Kind.RECHECK) {
            return null; // queued after the commits it looks at: the state it needs is there
        }
        if (job.kind() == Kind.RENAME) {
            if (state.nameVersion() < job.generation()) {
                return JobOutcome.Status.WAITING;
            }
            // A newer rename's jobs re-announce everyone on an older name, this one's included.
            return state.nameVersion() > job.generation() ? JobOutcome.Status.SUPERSEDED : null;
        }
        if (state.epoch() < job.generation()) {
            return JobOutcome.Status.WAITING;
        }
        if (state.epoch() > job.generation() || !job.sessionId().equals(state.reconcileSession())) {
            // A newer session completed (its pass covers this one's), or another session took this epoch.
            return JobOutcome.Status.SUPERSEDED;
        }
        return null;
    }

    /** One chunk of an exit pass: count (EXIT_COUNT) or exit (EXIT_APPLY) the absent, unlisted members. */
    private Checkpoint exitChunk(ReconcileJob job, CohortState state, Checkpoint cp, Pass pass, Progress p) {
        MembershipStore.ScanPage page = store.scan(job.cohort(), job.shard(), pass.start, pass.end, cp.cursor(),
                config.chunk());
        long members = 0;
        List<String> selected = new ArrayList<>();
        for (Map.Entry<String, Membership> item : page.items()) {
            Membership m = item.getValue();
            // A later pass starts at the previous pass's end (both ranges include it): count that member once.
            // (It is a session id, so it never exits.)
            if (m.member() && !item.getKey().equals(pass.start)) {
                members++;
                if (exits(m, item.getKey(), pass, job.generation())) {
                    selected.add(item.getKey());
                }
            }
        }
        long changed = 0;
        if (job.kind() == Kind.EXIT_APPLY && !selected.isEmpty()) {
            changed = converge(job, state, selected, page, pass);
        }
        p.add(page.items().size(), selected.size(), changed);
        if (page.next() != null) {
            return cp.advanced(page.next(), page.items().size(), members, selected.size(), changed);
        }
        Checkpoint counted = cp.advanced(null, page.items().size(), members, selected.size(), changed);
        return pass.last ? counted.finished() : counted.nextPass(pass.end);
    }

    private static boolean exits(Membership m, String id, Pass pass, long epoch) {
        return m.member() && m.listedEpoch() < epoch && !pass.ids.contains(id);
    }

    /** Exits {@code ids}; users whose write lost a race are re-read and re-judged. @return exits committed */
    private long converge(ReconcileJob job, CohortState state, List<String> ids, MembershipStore.ScanPage page,
                          Pass pass) {
        Map<String, Membership> stored = toMap(page);
        List<String> pending = ids;
        long committed = 0;
        Instant observedAt = clock.instant();
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            List<Change> changes = new ArrayList<>();
            for (String id : pending) {
                Membership m = stored.getOrDefault(id, Membership.ABSENT);
                if (exits(m, id, pass, job.generation())) {
                    changes.add(new Change(id, m, m.next(false).stamped(state.nameVersion(), 0),
                            state.previousNameFor(m.nameVersion()).orElse(null)));
                }
            }
            if (changes.isEmpty()) {
                return committed;
            }
            String name = state.name();
            deltas.enqueue(changes.stream().map(c -> Delta.of(job.cohort(), name, c, observedAt)).toList());
            Set<String> conflicts = store.commitUnlisted(job.cohort(), changes, job.generation());
            committed += changes.size() - conflicts.size();
            if (conflicts.isEmpty()) {
                return committed;
            }
            pending = List.copyOf(conflicts);
            stored = store.read(job.cohort(), pending, true);
            state = current(job, state, stored);
        }
        throw new DependencyUnavailableException("DynamoDB", pending.size()
                + " memberships kept changing while the exit pass wrote them", null);
    }

    /**
     * README "Late writes": the users of one call whose writes may have landed after a rename's or an
     * exit pass's job had passed them. Each is announced again if it was last announced under an older
     * name, and exited if the epoch's session does not list it, no later call listed it, and the pass
     * decided to apply (a held pass exits nobody; a newer epoch's pass covers the user itself).
     * Idempotent like every other change: conditional writes on the version read.
     */
    private JobOutcome recheck(ReconcileJob job, CohortState state) {
        Progress p = new Progress();
        Map<String, Membership> stored = store.read(job.cohort(), job.ids(), true);
        CohortState current = state;
        // 1. Names: everyone of these on an older name version, member or not, gets the current one.
        List<String> pending = job.ids();
        Instant observedAt = clock.instant();
        for (int attempt = 1; ; attempt++) {
            Map<String, Membership> now = stored;
            CohortState s = current;
            List<Change> changes = pending.stream()
                    .filter(id -> now.containsKey(id) && now.get(id).nameVersion() < s.nameVersion())
                    .map(id -> new Change(id, now.get(id), now.get(id).next(now.get(id).member())
                            .stamped(s.nameVersion(), 0), s.previousNameFor(now.get(id).nameVersion()).orElse(null)))
                    .toList();
            if (changes.isEmpty()) {
                break;
            }
            if (attempt > MAX_ATTEMPTS) {
                throw new DependencyUnavailableException("DynamoDB", changes.size()
                        + " memberships kept changing while the re-check announced them", null);
            }
            deltas.enqueue(changes.stream().map(c -> Delta.of(job.cohort(), s.name(), c, observedAt)).toList());
            Set<String> conflicts = store.commit(job.cohort(), changes);
            p.add(0, changes.size() - conflicts.size(), 0);
            stored = new HashMap<>(stored);
            stored.putAll(store.read(job.cohort(), job.ids(), true));
            current = current(job, current, stored);
            pending = List.copyOf(conflicts);
        }
        // 2. Exits, for the epoch the call saw complete.
        if (job.sessionId() == null || current.epoch() != job.generation()
                || Duration.between(job.queuedAt(), clock.instant()).compareTo(config.exitJobMaxAge()) > 0) {
            return p.scanned(job.ids().size()).outcome(JobOutcome.Status.DONE);
        }
        Phase phase = progress.summary(job).map(ReconcileStore.Summary::phase).orElse(null);
        if (phase == null ? current.reconciling() : phase == Phase.COUNTING) {
            // The count has not been decided yet: the mass-exit guard decides first.
            jobs.enqueueDelayed(List.of(job), config.notYetCommittedWait());
            return p.scanned(job.ids().size()).outcome(JobOutcome.Status.WAITING);
        }
        if (phase != Phase.APPLY && phase != Phase.DONE) {
            return p.scanned(job.ids().size()).outcome(JobOutcome.Status.DONE);
        }
        Set<String> listed = new HashSet<>();
        Set<String> wanted = Set.copyOf(job.ids());
        sessions.forEachExportedId(new SessionKey(job.cohort(), job.sessionId()), job.shard(), id -> {
            if (wanted.contains(id)) {
                listed.add(id);
            }
        });
        pending = job.ids();
        for (int attempt = 1; ; attempt++) {
            Map<String, Membership> now = stored;
            CohortState s = current;
            List<Change> changes = pending.stream()
                    .filter(id -> now.containsKey(id) && now.get(id).member()
                            && now.get(id).listedEpoch() < job.generation() && !listed.contains(id))
                    .map(id -> new Change(id, now.get(id), now.get(id).next(false).stamped(s.nameVersion(), 0),
                            s.previousNameFor(now.get(id).nameVersion()).orElse(null)))
                    .toList();
            if (changes.isEmpty()) {
                break;
            }
            if (attempt > MAX_ATTEMPTS) {
                throw new DependencyUnavailableException("DynamoDB", changes.size()
                        + " memberships kept changing while the re-check exited them", null);
            }
            deltas.enqueue(changes.stream().map(c -> Delta.of(job.cohort(), s.name(), c, observedAt)).toList());
            Set<String> conflicts = store.commitUnlisted(job.cohort(), changes, job.generation());
            p.add(0, 0, changes.size() - conflicts.size());
            pending = List.copyOf(conflicts);
            if (!pending.isEmpty()) {
                stored = store.read(job.cohort(), pending, true);
                current = current(job, current, stored);
            }
        }
        return p.scanned(job.ids().size()).outcome(JobOutcome.Status.DONE);
    }

    /**
     * The cohort state to re-judge lost races with: reloaded when a re-read member was announced under a
     * newer name than {@code state} knows (a rename committed meanwhile), so the change carries that name
     * and clears the one the member was announced under, never an older one.
     */
    private CohortState current(ReconcileJob job, CohortState state, Map<String, Membership> reread) {
        boolean renamed = reread.values().stream().anyMatch(m -> m.nameVersion() > state.nameVersion());
        return renamed ? cohorts.load(job.cohort()).orElse(state) : state;
    }

    /** One chunk of a rename: every member on an older name version is announced under the current one, once. */
    private Checkpoint renameChunk(ReconcileJob job, CohortState state, Checkpoint cp, Progress p) {
        MembershipStore.ScanPage page = store.scan(job.cohort(), job.shard(), null, null, cp.cursor(), config.chunk());
        Map<String, Membership> stored = toMap(page);
        List<String> pending = new ArrayList<>();
        long members = 0;
        for (Map.Entry<String, Membership> item : page.items()) {
            if (item.getValue().member()) {
                members++;
                if (item.getValue().nameVersion() < state.nameVersion()) {
                    pending.add(item.getKey());
                }
            }
        }
        long matched = pending.size();
        long changed = 0;
        Instant observedAt = clock.instant();
        for (int attempt = 1; !pending.isEmpty(); attempt++) {
            if (attempt > MAX_ATTEMPTS) {
                throw new DependencyUnavailableException("DynamoDB", pending.size()
                        + " memberships kept changing while the rename announced them", null);
            }
            List<Change> changes = new ArrayList<>();
            for (String id : pending) {
                Membership m = stored.getOrDefault(id, Membership.ABSENT);
                if (m.member() && m.nameVersion() < state.nameVersion()) {
                    changes.add(new Change(id, m, m.next(true).stamped(state.nameVersion(), 0),
                            state.previousNameFor(m.nameVersion()).orElse(null)));
                }
            }
            if (changes.isEmpty()) {
                break;
            }
            String name = state.name();
            deltas.enqueue(changes.stream().map(c -> Delta.of(job.cohort(), name, c, observedAt)).toList());
            Set<String> conflicts = store.commit(job.cohort(), changes);
            changed += changes.size() - conflicts.size();
            pending = List.copyOf(conflicts);
            if (!pending.isEmpty()) {
                stored = store.read(job.cohort(), pending, true);
                state = current(job, state, stored);
            }
        }
        p.add(page.items().size(), matched, changed);
        Checkpoint next = cp.advanced(page.next(), page.items().size(), members, matched, changed);
        return page.next() == null ? next.finished() : next;
    }

    private Checkpoint migrateChunk(ReconcileJob job, Checkpoint cp, Progress p) {
        int moved = store.migrateLegacy(job.cohort(), config.chunk());
        p.add(moved, 0, moved);
        Checkpoint next = cp.advanced(null, moved, 0, 0, moved);
        return moved == 0 ? next.finished() : next;
    }

    /**
     * After a shard finished: report it, and act on the whole once every shard has (decide an exit
     * pass, record a session's outcome, end a migration). Every step is idempotent, so a redelivery
     * ({@code replay}) may run it again.
     */
    private void afterDone(ReconcileJob job, CohortState state, Checkpoint cp, Progress p, boolean replay) {
        if (job.kind() == Kind.MIGRATE) {
            cohorts.finishMigration(job.cohort());
            return;
        }
        ReconcileStore.Summary summary = progress.report(job, cp);
        p.total = summary;
        SessionKey session = job.sessionId() == null ? null : new SessionKey(job.cohort(), job.sessionId());
        switch (job.kind()) {
            case EXIT_COUNT -> {
                if (summary.shardsCounted() < Shards.COUNT) {
                    return;
                }
                // Nothing to exit: done without the apply pass (it would only read everything again). A member
                // written late by a request that read the cohort before the completion is not this pass's to
                // find: that request saw the epoch move after its commits and queued a RECHECK of it.
                Phase decision = config.massExitPolicy().holds(summary.members(), summary.matched()) ? Phase.HELD
                        : summary.matched() == 0 ? Phase.DONE : Phase.APPLY;
                boolean decided = progress.decide(job, decision);
                if (decided) {
                    p.decision = decision;
                }
                Phase phase = decided ? decision : progress.summary(job).map(ReconcileStore.Summary::phase)
                        .orElse(decision);
                if (phase == Phase.APPLY && (decided || replay)) {
                    jobs.enqueue(ReconcileJob.perShard(Kind.EXIT_APPLY, job.cohort(), job.generation(),
                            job.sessionId(), job.queuedAt()));
                } else if (phase == Phase.HELD || phase == Phase.DONE) {
                    sessions.recordOutcome(session, new SessionOutcome(phase == Phase.HELD
                            ? SessionOutcome.Status.HELD : SessionOutcome.Status.APPLIED, job.generation(),
                            summary.members(), summary.matched()));
                    cohorts.finishReconcile(job.cohort(), job.generation());
                    if (decided) {
                        p.total = progress.summary(job).orElse(summary);
                    }
                }
            }
            case EXIT_APPLY -> {
                if (summary.shardsDone() == Shards.COUNT) {
                    sessions.recordOutcome(session, new SessionOutcome(SessionOutcome.Status.APPLIED,
                            job.generation(), summary.members(), summary.changed()));
                    cohorts.finishReconcile(job.cohort(), job.generation());
                }
            }
            default -> {
                // RENAME: the summary is all there is to record.
            }
        }
    }

    private static Map<String, Membership> toMap(MembershipStore.ScanPage page) {
        Map<String, Membership> map = new HashMap<>();
        page.items().forEach(e -> map.put(e.getKey(), e.getValue()));
        return map;
    }

    /**
     * The session ids of one pass over a shard: the {@code limit} smallest at or after {@code start}
     * (DynamoDB's key order), so the pass covers members in {@code [start, end]} and holds at most
     * {@code limit} ids whatever the session's size. {@code last}: no session id lies beyond {@code end},
     * so the pass reaches the end of the shard ({@code end} is then null).
     */
    record Pass(String start, String end, boolean last, NavigableSet<String> ids) {
        static Pass of(SessionStore sessions, SessionKey session, int shard, String start, int limit) {
            TreeSet<String> ids = new TreeSet<>(Shards::compareKeys);
            boolean[] overflowed = {false};
            sessions.forEachExportedId(session, shard, id -> {
                if (start != null && Shards.compareKeys(id, start) < 0) {
                    return;
                }
                if (ids.size() == limit) {
                    if (Shards.compareKeys(id, ids.last()) >= 0) {
                        overflowed[0] = overflowed[0] || !ids.contains(id);
                        return;
                    }
                    ids.add(id);
                    if (ids.size() > limit) {
                        ids.pollLast();
                        overflowed[0] = true;
                    }
                    return;
                }
                ids.add(id);
            });
            boolean last = !overflowed[0];
            return new Pass(start, last ? null : ids.last(), last, ids);
        }
    }

    private static final class Progress {
        int chunks;
        long scanned;
        long matched;
        long changed;
        Phase decision;
        ReconcileStore.Summary total;

        Progress scanned(long count) {
            scanned = count;
            return this;
        }

        void add(long moreScanned, long moreMatched, long moreChanged) {
            scanned += moreScanned;
            matched += moreMatched;
            changed += moreChanged;
        }

        JobOutcome outcome(JobOutcome.Status status) {
            return new JobOutcome(status, chunks, scanned, matched, changed, decision, total);
        }
    }
}
