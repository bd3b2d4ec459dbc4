package io.cohortsync.testkit;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;

import java.time.Duration;
import java.time.Instant;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Every port of the sync core in memory, with the adapters' semantics: conditional commits, sharded
 * key order ({@link Shards#compareKeys}), idempotent receipts, per-shard reports counted once,
 * checkpoints conditional on their sequence. For fast unit tests of both cores and for the bench; the
 * integration tests on moto cover the adapters themselves. Thread-safe (one lock).
 */
public final class InMemoryState {
    public final Members members = new Members();
    public final Sessions sessions = new Sessions();
    public final Cohorts cohorts = new Cohorts();
    public final Progress progress = new Progress();
    public final Deltas deltas = new Deltas();
    public final Jobs jobs = new Jobs();

    /** The membership table. */
    public final class Members implements MembershipStore {
        private final Map<CohortRef, Map<Integer, NavigableMap<String, Membership>>> shards = new HashMap<>();
        private final Map<CohortRef, NavigableMap<String, Membership>> legacy = new HashMap<>();
        /** Items written (commits, marks, migrated), as DynamoDB would bill writes. */
        public long writes;
        public long reads;

        private NavigableMap<String, Membership> shard(CohortRef cohort, String id) {
            return shard(cohort, Shards.of(id));
        }

        private NavigableMap<String, Membership> shard(CohortRef cohort, int shard) {
            return shards.computeIfAbsent(cohort, k -> new HashMap<>())
                    .computeIfAbsent(shard, k -> new TreeMap<>(Shards::compareKeys));
        }

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            synchronized (InMemoryState.this) {
                Map<String, Membership> found = new HashMap<>();
                for (String id : ids) {
                    reads++;
                    Membership m = shard(cohort, id).get(id);
                    if (m != null) {
                        found.put(id, m);
                    }
                }
                return found;
            }
        }

        @Override
        public Set<String> commit(CohortRef cohort, List<Change> changes) {
            return commitUnlisted(cohort, changes, 0);
        }

        @Override
        public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
            synchronized (InMemoryState.this) {
                Set<String> conflicts = new HashSet<>();
                for (Change c : changes) {
                    NavigableMap<String, Membership> s = shard(cohort, c.distinctId());
                    Membership stored = s.getOrDefault(c.distinctId(), Membership.ABSENT);
                    boolean ok = stored.version() == c.from().version()
                            && (unlistedBefore == 0 || stored.listedEpoch() < unlistedBefore);
                    if (ok) {
                        s.put(c.distinctId(), c.to());
                        writes++;
                    } else {
                        conflicts.add(c.distinctId());
                    }
                }
                return conflicts;
            }
        }

        @Override
        public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
            synchronized (InMemoryState.this) {
                Set<String> conflicts = new HashSet<>();
                unchanged.forEach((id, expected) -> {
                    NavigableMap<String, Membership> s = shard(cohort, id);
                    Membership stored = s.get(id);
                    if (stored != null && stored.version() == expected.version()) {
                        s.put(id, new Membership(stored.member(), stored.version(), stored.userId(),
                                stored.nameVersion(), epoch));
                        writes++;
                    } else {
                        conflicts.add(id);
                    }
                });
                return conflicts;
            }
        }

        @Override
        public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
            synchronized (InMemoryState.this) {
                NavigableMap<String, Membership> view = shard(cohort, shard);
                if (from != null) {
                    view = view.tailMap(from, true);
                }
                if (to != null) {
                    view = view.headMap(to, true);
                }
                if (cursor != null) {
                    view = view.tailMap(cursor, false);
                }
                List<Map.Entry<String, Membership>> items = new ArrayList<>();
                for (Map.Entry<String, Membership> e : view.entrySet()) {
                    if (items.size() == limit) {
                        break;
                    }
                    items.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
                    reads++;
                }
                // Like DynamoDB: a full page names its last key, even when nothing follows.
                String next = items.size() == limit ? items.get(items.size() - 1).getKey() : null;
                return new ScanPage(items, next);
            }
        }

        @Override
        public boolean hasLegacyState(CohortRef cohort) {
            synchronized (InMemoryState.this) {
                return !legacy.getOrDefault(cohort, new TreeMap<>()).isEmpty();
            }
        }

        @Override
        public int migrateLegacy(CohortRef cohort, int limit) {
            synchronized (InMemoryState.this) {
                NavigableMap<String, Membership> old = legacy.getOrDefault(cohort, new TreeMap<>());
                int moved = 0;
                while (!old.isEmpty() && moved < limit) {
                    Map.Entry<String, Membership> e = old.pollFirstEntry();
                    Membership m = e.getValue();
                    shard(cohort, e.getKey()).putIfAbsent(e.getKey(), new Membership(m.member(), m.version(),
                            m.userId(), m.nameVersion() == 0 ? 1 : m.nameVersion(), m.listedEpoch()));
                    writes++;
                    moved++;
                }
                return moved;
            }
        }

        /** Seeds a member in the old single-partition layout (as an earlier version stored it). */
        public void putLegacy(CohortRef cohort, String id, Membership m) {
            synchronized (InMemoryState.this) {
                legacy.computeIfAbsent(cohort, k -> new TreeMap<>()).put(id, m);
            }
        }

        /** What is stored for one user (ABSENT when nothing is). */
        public Membership get(CohortRef cohort, String id) {
            synchronized (InMemoryState.this) {
                return shard(cohort, id).getOrDefault(id, Membership.ABSENT);
            }
        }

        /** Every stored item of a cohort (all shards). */
        public Map<String, Membership> all(CohortRef cohort) {
            synchronized (InMemoryState.this) {
                Map<String, Membership> all = new HashMap<>();
                shards.getOrDefault(cohort, Map.of()).values().forEach(all::putAll);
                return all;
            }
        }

        /** Ids of the cohort's current members. */
        public Set<String> memberIds(CohortRef cohort) {
            Set<String> ids = new TreeSet<>();
            all(cohort).forEach((id, m) -> {
                if (m.member()) {
                    ids.add(id);
                }
            });
            return ids;
        }
    }

    /** Full-sync page receipts. */
    public final class Sessions implements SessionStore {
        private final Map<SessionKey, Map<Integer, Set<String>>> pages = new HashMap<>();
        private final Map<SessionKey, SessionOutcome> outcomes = new HashMap<>();
        /** Ids streamed to the reconciler (for the bench's read counts). */
        public long idsStreamed;

        @Override
        public int recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
            synchronized (InMemoryState.this) {
                Map<Integer, Set<String>> recorded = pages.computeIfAbsent(session, k -> new HashMap<>());
                recorded.putIfAbsent(page, Set.copyOf(ids));
                return recorded.size();
            }
        }

        @Override
        public java.util.OptionalInt pagesIfRecorded(SessionKey session, int page) {
            synchronized (InMemoryState.this) {
                Map<Integer, Set<String>> recorded = pages.getOrDefault(session, Map.of());
                return recorded.containsKey(page) ? java.util.OptionalInt.of(recorded.size())
                        : java.util.OptionalInt.empty();
            }
        }

        /** Page receipts written (a replay must add none). */
        public int pagesRecorded(SessionKey session) {
            synchronized (InMemoryState.this) {
                return pages.getOrDefault(session, Map.of()).size();
            }
        }

        @Override
        public void forEachExportedId(SessionKey session, int shard, Consumer<String> each) {
            List<Set<String>> copy;
            synchronized (InMemoryState.this) {
                copy = new ArrayList<>(pages.getOrDefault(session, Map.of()).values());
            }
            for (Set<String> page : copy) {
                for (String id : page) {
                    if (Shards.of(id) == shard) {
                        idsStreamed++;
                        each.accept(id);
                    }
                }
            }
        }

        @Override
        public Optional<SessionOutcome> outcome(SessionKey session) {
            synchronized (InMemoryState.this) {
                return Optional.ofNullable(outcomes.get(session));
            }
        }

        @Override
        public void recordOutcome(SessionKey session, SessionOutcome outcome) {
            synchronized (InMemoryState.this) {
                outcomes.put(session, outcome);
            }
        }
    }

    /** Cohort items. */
    public final class Cohorts implements CohortStore {
        private final Map<CohortRef, CohortState> states = new HashMap<>();

        @Override
        public Optional<CohortState> load(CohortRef cohort) {
            synchronized (InMemoryState.this) {
                return Optional.ofNullable(states.get(cohort));
            }
        }

        @Override
        public boolean create(CohortRef cohort, CohortState state) {
            synchronized (InMemoryState.this) {
                return states.putIfAbsent(cohort, state) == null;
            }
        }

        @Override
        public boolean rename(CohortRef cohort, CohortState current, CohortState next) {
            synchronized (InMemoryState.this) {
                CohortState stored = states.get(cohort);
                if (stored == null || stored.nameVersion() != current.nameVersion()) {
                    return false;
                }
                states.put(cohort, new CohortState(next.name(), next.nameVersion(), next.names(), stored.epoch(),
                        stored.reconcileSession(), stored.reconciling(), stored.migrating(), stored.activity(),
                        stored.retiredAt()));
                return true;
            }
        }

        @Override
        public boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages) {
            synchronized (InMemoryState.this) {
                CohortState stored = states.get(cohort);
                if (stored == null || stored.epoch() != current.epoch() || sessions.outcomes.containsKey(session)) {
                    return false;
                }
                CohortState next = stored.completed(session.sessionId());
                states.put(cohort, next);
                sessions.outcomes.put(session, new SessionOutcome(SessionOutcome.Status.RECONCILING, next.epoch(), 0, 0));
                return true;
            }
        }

        @Override
        public void finishReconcile(CohortRef cohort, long epoch) {
            synchronized (InMemoryState.this) {
                CohortState s = states.get(cohort);
                if (s != null && s.epoch() == epoch) {
                    states.put(cohort, new CohortState(s.name(), s.nameVersion(), s.names(), s.epoch(),
                            s.reconcileSession(), false, s.migrating(), s.activity(), s.retiredAt()));
                }
            }
        }

        @Override
        public void startMigration(CohortRef cohort, String name) {
            synchronized (InMemoryState.this) {
                CohortState s = states.get(cohort);
                states.put(cohort, s == null ? new CohortState(name, 1, Map.of(), 0, null, false, true)
                        : new CohortState(s.name(), s.nameVersion(), s.names(), s.epoch(), s.reconcileSession(),
                        false, true, s.activity(), s.retiredAt()));
            }
        }

        @Override
        public void finishMigration(CohortRef cohort) {
            synchronized (InMemoryState.this) {
                CohortState s = states.get(cohort);
                if (s != null) {
                    states.put(cohort, new CohortState(s.name(), s.nameVersion(), s.names(), s.epoch(),
                            s.reconcileSession(), s.reconciling(), false, s.activity(), s.retiredAt()));
                }
            }
        }

        @Override
        public void recordSync(CohortRef cohort, CohortState read, Instant at, String action) {
            synchronized (InMemoryState.this) {
                CohortState s = states.get(cohort);
                if (s != null) {
                    CohortState.Activity a = s.activity();
                    states.put(cohort, s.with(a == null ? new CohortState.Activity(at, at, action, 1) : a.next(at, action),
                            null));
                }
            }
        }

        @Override
        public boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at) {
            synchronized (InMemoryState.this) {
                CohortState s = states.get(cohort);
                long syncs = s == null || s.activity() == null ? 0 : s.activity().syncs();
                if (s == null || s.epoch() != epoch || !s.reconciling() || syncs != syncsAtStart) {
                    return false;
                }
                states.put(cohort, new CohortState(s.name(), s.nameVersion(), s.names(), s.epoch(),
                        s.reconcileSession(), false, s.migrating(), s.activity(), at));
                return true;
            }
        }
    }

    /** Reconcile checkpoints and summaries. */
    public final class Progress implements ReconcileStore {
        private final Map<String, Checkpoint> checkpoints = new HashMap<>();
        private final Map<String, Summary> summaries = new LinkedHashMap<>();
        private final Map<String, Set<Integer>> counted = new HashMap<>();
        private final Map<String, Set<Integer>> done = new HashMap<>();

        private static String work(ReconcileJob job) {
            return job.cohort() + "|" + job.kind().work() + "|" + job.generation();
        }

        private static String key(ReconcileJob job) {
            return work(job) + "|" + job.kind() + "|" + job.shard();
        }

        @Override
        public Optional<Checkpoint> checkpoint(ReconcileJob job) {
            synchronized (InMemoryState.this) {
                return Optional.ofNullable(checkpoints.get(key(job)));
            }
        }

        @Override
        public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
            synchronized (InMemoryState.this) {
                Checkpoint stored = checkpoints.get(key(job));
                long seq = stored == null ? 0 : stored.seq();
                if (seq != previous.seq()) {
                    return false;
                }
                checkpoints.put(key(job), next);
                return true;
            }
        }

        @Override
        public Summary report(ReconcileJob job, Checkpoint cp) {
            synchronized (InMemoryState.this) {
                String w = work(job);
                Summary s = summaries.getOrDefault(w, new Summary(kindOf(job), job.generation(), job.sessionId(),
                        Phase.COUNTING, 0, 0, 0, 0, 0, 0));
                boolean counting = job.kind() == ReconcileJob.Kind.EXIT_COUNT;
                Set<Integer> shards = (counting ? counted : done).computeIfAbsent(w, k -> new HashSet<>());
                if (!shards.add(job.shard())) {
                    return s;
                }
                boolean exitApply = job.kind() == ReconcileJob.Kind.EXIT_APPLY;
                s = new Summary(s.kind(), s.generation(), s.sessionId(), s.phase(),
                        counted.getOrDefault(w, Set.of()).size(), done.getOrDefault(w, Set.of()).size(),
                        s.members() + (exitApply ? 0 : cp.members()), s.matched() + (exitApply ? 0 : cp.matched()),
                        s.changed() + (counting ? 0 : cp.changed()), s.scanned() + (counting ? 0 : cp.scanned()));
                int needed = job.kind() == ReconcileJob.Kind.MIGRATE ? 1 : Shards.COUNT;
                if (!counting && s.shardsDone() == needed) {
                    s = withPhase(s, Phase.DONE);
                }
                summaries.put(w, s);
                return s;
            }
        }

        private static String kindOf(ReconcileJob job) {
            return job.kind().work();
        }

        private static Summary withPhase(Summary s, Phase phase) {
            return new Summary(s.kind(), s.generation(), s.sessionId(), phase, s.shardsCounted(), s.shardsDone(),
                    s.members(), s.matched(), s.changed(), s.scanned());
        }

        @Override
        public boolean decide(ReconcileJob job, Phase decision) {
            synchronized (InMemoryState.this) {
                Summary s = summaries.get(work(job));
                if (s == null || s.phase() != Phase.COUNTING) {
                    return false;
                }
                summaries.put(work(job), withPhase(s, decision));
                return true;
            }
        }

        @Override
        public Optional<Summary> summary(ReconcileJob job) {
            synchronized (InMemoryState.this) {
                return Optional.ofNullable(summaries.get(work(job)));
            }
        }

        @Override
        public List<Summary> recent(CohortRef cohort, int limit) {
            synchronized (InMemoryState.this) {
                List<Summary> all = new ArrayList<>();
                summaries.forEach((k, v) -> {
                    if (k.startsWith(cohort + "|")) {
                        all.add(0, v);
                    }
                });
                return all.stream().limit(limit).toList();
            }
        }
    }

    /** The delta queue: what was announced, in order. */
    public final class Deltas implements DeltaQueue {
        public final List<Delta> queued = new ArrayList<>();

        @Override
        public void enqueue(List<Delta> batch) {
            synchronized (InMemoryState.this) {
                queued.addAll(batch);
            }
        }

        public List<Delta> snapshot() {
            synchronized (InMemoryState.this) {
                return List.copyOf(queued);
            }
        }
    }

    /** The reconcile queue: jobs waiting, delayed ones included (a test decides when to run them). */
    public final class Jobs implements ReconcileQueue {
        public final Deque<ReconcileJob> waiting = new ArrayDeque<>();
        public long sent;
        public long delayed;

        @Override
        public void enqueue(List<ReconcileJob> batch) {
            synchronized (InMemoryState.this) {
                waiting.addAll(batch);
                sent += batch.size();
            }
        }

        @Override
        public void enqueueDelayed(List<ReconcileJob> batch, Duration delay) {
            synchronized (InMemoryState.this) {
                waiting.addAll(batch);
                sent += batch.size();
                delayed += batch.size();
            }
        }

        /** The next job, or null. */
        public ReconcileJob poll() {
            synchronized (InMemoryState.this) {
                return waiting.pollFirst();
            }
        }
    }
}
