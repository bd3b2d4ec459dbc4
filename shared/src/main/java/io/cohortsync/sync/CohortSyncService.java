package io.cohortsync.sync;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortNames;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Diff;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;

import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * Applies one Mixpanel export call to the membership table, announcing every real change on the
 * delta queue. The protocol is enqueue-then-commit: deltas are queued first, then each change is
 * committed with a conditional write on the version it was computed from. A crash in between leaves
 * a delta ahead of the table, which the sender never sends; Mixpanel's retry recomputes and commits
 * the same change. Replays find nothing to change and cost reads only.
 */
public final class CohortSyncService {
    /** Deltas and commits go in slices of this many users, so a huge exit pass never builds one giant batch. */
    static final int SLICE = 1000;
    /** Rounds of re-read + re-diff after lost races before giving up with a retryable error. */
    static final int MAX_ATTEMPTS = 4;

    private final MembershipStore store;
    private final DeltaQueue queue;
    private final SessionStore sessions;
    private final MassExitPolicy massExitPolicy;
    private final CohortNames names;
    private final Clock clock;

    /**
     * @param names where cohort names are remembered to follow renames; {@link CohortNames#NOT_TRACKED}
     *              leaves a renamed cohort's old trait as it was
     */
    public CohortSyncService(MembershipStore store, DeltaQueue queue, SessionStore sessions,
                             MassExitPolicy massExitPolicy, CohortNames names, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.massExitPolicy = Objects.requireNonNull(massExitPolicy, "massExitPolicy");
        this.names = Objects.requireNonNull(names, "names");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public SyncResult apply(CohortExport export) {
        Instant observedAt = clock.instant();
        boolean desired = export.action() != Action.REMOVE_MEMBERS;
        Tally tally = new Tally();
        int renamed = followRename(export, observedAt, tally);
        tally.committed = 0;
        for (List<String> slice : slices(export.distinctIds())) {
            converge(export.cohort(), export.cohortName(), slice,
                    (ids, stored) -> Diff.toward(ids, stored, desired, export.userIds()), null, export.extraTraits(),
                    observedAt, tally);
        }
        int listedChanges = tally.committed;
        int unchanged = export.distinctIds().size() - listedChanges;
        int enters = desired ? listedChanges : 0;
        int exits = desired ? 0 : listedChanges;
        SyncResult result = export.action() != Action.MEMBERS
                ? new SyncResult(export, enters, exits, unchanged, tally.queued, SyncResult.SessionStatus.NONE, 0, 0)
                : fullSync(export, observedAt, tally, enters, unchanged);
        return result.completed(renamed, observedAt);
    }

    /**
     * When the cohort's name differs from the one last seen, every current member is re-announced
     * under the new name with the old trait set to false (one version bump each, so anything still
     * queued under the old name turns stale). The new name is recorded only after that is durable, so
     * a crash in between makes Mixpanel's retry do it again.
     *
     * @return members re-announced
     */
    private int followRename(CohortExport export, Instant observedAt, Tally tally) {
        Optional<String> known = names.get(export.cohort());
        if (known.isPresent() && known.get().equals(export.cohortName())) {
            return 0;
        }
        int renamed = 0;
        if (known.isPresent()) {
            String previous = known.get();
            Map<String, Membership> members = store.currentMembers(export.cohort());
            List<String> ids = List.copyOf(members.keySet());
            for (List<String> slice : slices(ids)) {
                int before = tally.committed;
                converge(export.cohort(), export.cohortName(), slice,
                        (pending, stored) -> Diff.renamed(onlyMembers(pending, stored), previous), members,
                        Map.of(), observedAt, tally);
                renamed += tally.committed - before;
            }
        }
        names.put(export.cohort(), export.cohortName());
        return renamed;
    }

    private static Map<String, Membership> onlyMembers(List<String> ids, Map<String, Membership> stored) {
        Map<String, Membership> members = new java.util.LinkedHashMap<>();
        for (String id : ids) {
            Membership m = stored.get(id);
            if (m != null && m.member()) {
                members.put(id, m);
            }
        }
        return members;
    }

    private SyncResult fullSync(CohortExport export, Instant observedAt, Tally tally, int enters, int unchanged) {
        Optional<SessionKey> key = export.session().map(id -> new SessionKey(export.cohort(), id));
        Set<String> exported;
        int pages;
        if (export.totalPages() == 1) {
            // Everything is in this request: no page receipts to store.
            exported = new HashSet<>(export.distinctIds());
            pages = 1;
        } else {
            SessionKey session = key.orElseThrow(); // the parser guarantees a session id for multi-page exports
            sessions.recordPage(session, export.page(), export.totalPages(), new HashSet<>(export.distinctIds()));
            Set<Integer> received = sessions.receivedPages(session);
            pages = (int) received.stream().filter(p -> p <= export.totalPages()).count();
            if (pages < export.totalPages()) {
                return new SyncResult(export, enters, 0, unchanged, tally.queued,
                        SyncResult.SessionStatus.INCOMPLETE, pages, 0);
            }
            exported = null; // read lazily below, only if no outcome was recorded yet
        }
        if (key.isPresent() && sessions.outcome(key.get()).isPresent()) {
            return new SyncResult(export, enters, 0, unchanged, tally.queued,
                    SyncResult.SessionStatus.ALREADY_DECIDED, pages, 0);
        }
        if (exported == null) {
            exported = sessions.exportedIds(key.get());
        }
        Map<String, Membership> members = store.currentMembers(export.cohort());
        List<String> absent = Diff.absentMembers(members, exported);
        if (massExitPolicy.holds(members.size(), absent.size())) {
            key.ifPresent(k -> sessions.recordOutcome(k,
                    new SessionOutcome(SessionOutcome.Status.HELD, members.size(), absent.size())));
            return new SyncResult(export, enters, 0, unchanged, tally.queued, SyncResult.SessionStatus.HELD,
                    pages, absent.size());
        }
        int before = tally.committed;
        for (List<String> slice : slices(absent)) {
            converge(export.cohort(), export.cohortName(), slice,
                    (ids, stored) -> Diff.toward(ids, stored, false), members, Map.of(), observedAt, tally);
        }
        key.ifPresent(k -> sessions.recordOutcome(k,
                new SessionOutcome(SessionOutcome.Status.APPLIED, members.size(), absent.size())));
        return new SyncResult(export, enters, tally.committed - before, unchanged, tally.queued,
                SyncResult.SessionStatus.APPLIED, pages, absent.size());
    }

    /**
     * Applies {@code diff} to {@code ids}: diff, enqueue, commit; users whose commit lost a race are
     * re-read (consistently) and re-diffed, up to {@link #MAX_ATTEMPTS} rounds.
     */
    private void converge(CohortRef cohort, String cohortName, List<String> ids,
                          BiFunction<List<String>, Map<String, Membership>, List<Change>> diff,
                          Map<String, Membership> known, Map<String, Map<String, Object>> traits, Instant observedAt,
                          Tally tally) {
        List<String> pending = ids;
        Map<String, Membership> stored = known;
        boolean consistent = false;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            if (stored == null) {
                stored = store.read(cohort, pending, consistent);
            }
            List<Change> changes = diff.apply(pending, stored);
            if (changes.isEmpty()) {
                return;
            }
            queue.enqueue(changes.stream()
                    .map(c -> Delta.of(cohort, cohortName, c, observedAt, traits.get(c.distinctId()))).toList());
            tally.queued += changes.size();
            Set<String> conflicts = store.commit(cohort, changes);
            tally.committed += changes.size() - conflicts.size();
            if (conflicts.isEmpty()) {
                return;
            }
            pending = List.copyOf(conflicts);
            stored = null;
            consistent = true;
        }
        throw new DependencyUnavailableException("DynamoDB", pending.size()
                + " memberships kept changing under concurrent requests", null);
    }

    private static List<List<String>> slices(List<String> ids) {
        if (ids.size() <= SLICE) {
            return ids.isEmpty() ? List.of() : List.of(ids);
        }
        int n = (ids.size() + SLICE - 1) / SLICE;
        return java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> ids.subList(i * SLICE, Math.min(ids.size(), (i + 1) * SLICE)))
                .toList();
    }

    private static final class Tally {
        int committed;
        int queued;
    }
}
