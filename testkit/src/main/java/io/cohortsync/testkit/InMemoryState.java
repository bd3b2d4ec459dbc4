package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.SegmentTransport;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Every port of the three cores in memory, with the adapters' semantics: conditional commits, sharded
 * key order ({@link Shards#compareKeys}), idempotent receipts, per-shard reports counted once,
 * checkpoints conditional on their sequence, a delta queue that takes delays up to the SQS limit, a
 * dead-letter queue, the sync history, and a Segment that answers as told. Ports a test may break have
 * a {@link Fault} (a retryable {@link DependencyUnavailableException}). For fast unit tests of the
 * cores and for the bench; the integration tests on moto cover the adapters themselves. Thread-safe
 * (one lock).
 */
public final class InMemoryState {
    private static final ObjectMapper JSON = new ObjectMapper();

    public final Members members = new Members();
    public final Sessions sessions = new Sessions();
    public final Cohorts cohorts = new Cohorts();
    public final Progress progress = new Progress();
    public final Deltas deltas = new Deltas();
    public final Jobs jobs = new Jobs();
    public final DeadLetters deadLetters = new DeadLetters();
    public final History history = new History();
    public final Segment segment = new Segment();

    /**
     * A switch that makes a port fail retryably, as an adapter does when its dependency is throttled or
     * down: for the next {@code n} calls, or until {@link #heal()}.
     */
    public static final class Fault {
        private final String dependency;
        private int remaining;

        Fault(String dependency) {
            this.dependency = dependency;
        }

        public synchronized Fault failNext(int calls) {
            remaining = calls;
            return this;
        }

        public synchronized Fault failAlways() {
            remaining = Integer.MAX_VALUE;
            return this;
        }

        public synchronized void heal() {
            remaining = 0;
        }

        synchronized void check(String operation) {
            if (remaining > 0) {
                remaining--;
                throw new DependencyUnavailableException(dependency, operation + " failed (injected)", null);
            }
        }
    }

    /** The membership table. */
    public final class Members implements MembershipStore {
        private final Map<CohortRef, Map<Integer, NavigableMap<String, Membership>>> shards = new HashMap<>();
        private final Map<CohortRef, NavigableMap<String, Membership>> legacy = new HashMap<>();
        /** Items written (commits, marks, migrated), as DynamoDB would bill writes. */
        public long writes;
        public long reads;
        /** Breaks {@link #read}. */
        public final Fault readFault = new Fault("DynamoDB");

        private NavigableMap<String, Membership> shard(CohortRef cohort, String id) {
            return shard(cohort, Shards.of(id));
        }

        private NavigableMap<String, Membership> shard(CohortRef cohort, int shard) {
            return shards.computeIfAbsent(cohort, k -> new HashMap<>())
                    .computeIfAbsent(shard, k -> new TreeMap<>(Shards::compareKeys));
        }

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            readFault.check("BatchGetItem");
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
                                stored.nameVersion(), epoch, stored.anonymous()));
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
                            m.userId(), m.nameVersion() == 0 ? 1 : m.nameVersion(), m.listedEpoch(), m.anonymous()));
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
        public OptionalInt pagesIfRecorded(SessionKey session, int page) {
            synchronized (InMemoryState.this) {
                Map<Integer, Set<String>> recorded = pages.getOrDefault(session, Map.of());
                return recorded.containsKey(page) ? OptionalInt.of(recorded.size())
                        : OptionalInt.empty();
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
        /** Breaks {@link #load}. */
        public final Fault loadFault = new Fault("DynamoDB");

        @Override
        public Optional<CohortState> load(CohortRef cohort) {
            loadFault.check("GetItem (cohort)");
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

    /**
     * The delta queue: what was announced, in order, and what was put back with a delay. Or, once
     * {@link #discarding()}, encoded as the SQS adapter does and dropped (the bench: memory stays flat).
     */
    public final class Deltas implements DeltaQueue, DelayedDeltaQueue {
        public final List<Delta> queued = new ArrayList<>();
        /** Deltas put back with a delay, and the delay each got. */
        public final List<Delta> delayed = new ArrayList<>();
        public final List<Duration> delays = new ArrayList<>();
        /** Message bodies a discarding queue encoded. */
        public long bodies;
        /** Breaks {@link #enqueueDelayed}. */
        public final Fault delayFault = new Fault("SQS");
        private boolean discard;

        /** From now on deltas are encoded like the SQS adapter encodes them, then dropped. */
        public Deltas discarding() {
            discard = true;
            return this;
        }

        @Override
        public void enqueue(List<Delta> batch) {
            synchronized (InMemoryState.this) {
                if (discard) {
                    bodies += DeltaCodec.encode(batch, MAX_MESSAGE_BYTES).size();
                } else {
                    queued.addAll(batch);
                }
            }
        }

        /** Like SQS: a delay over {@link #MAX_DELAY_SECONDS} is refused, not capped. */
        @Override
        public void enqueueDelayed(List<Delta> batch, Duration delay) {
            if (delay.isNegative() || delay.toSeconds() > MAX_DELAY_SECONDS) {
                throw new IllegalArgumentException("delay must be 0.." + MAX_DELAY_SECONDS + " s, was " + delay);
            }
            delayFault.check("SendMessageBatch");
            synchronized (InMemoryState.this) {
                if (discard) {
                    bodies += DeltaCodec.encode(batch, MAX_MESSAGE_BYTES).size();
                } else {
                    delayed.addAll(batch);
                    batch.forEach(d -> delays.add(delay));
                }
            }
        }

        public List<Delta> snapshot() {
            synchronized (InMemoryState.this) {
                return List.copyOf(queued);
            }
        }
    }

    /** The dead-letter queue: letters in the order they were written (none when the write failed). */
    public final class DeadLetters implements DeadLetterQueue {
        public final List<DeadLetter> letters = new ArrayList<>();
        /** Breaks {@link #send}. */
        public final Fault fault = new Fault("SQS");

        @Override
        public void send(List<DeadLetter> batch) {
            fault.check("SendMessageBatch (DLQ)");
            synchronized (InMemoryState.this) {
                letters.addAll(batch);
            }
        }

        /** The deltas of the letters written in the delta format (rejected deltas, not poison). */
        public List<Delta> deltas() {
            List<Delta> all = new ArrayList<>();
            synchronized (InMemoryState.this) {
                for (DeadLetter l : letters) {
                    if (l.sourceMessageId().isEmpty()) {
                        all.addAll(DeltaCodec.decode(l.body()));
                    }
                }
            }
            return all;
        }
    }

    /** The sync history: entries as recorded, delivery counts added per call. */
    public final class History implements SyncHistory {
        public final List<HistoryEntry> entries = new ArrayList<>();
        /** (cohort, observedAt) → [sent, rejected, wouldSend] added by the sender. */
        public final Map<Map.Entry<CohortRef, Instant>, long[]> delivered = new LinkedHashMap<>();
        /** Breaks {@link #record} and {@link #addDelivered}. */
        public final Fault fault = new Fault("DynamoDB");

        @Override
        public void record(HistoryEntry entry) {
            fault.check("PutItem (history)");
            synchronized (InMemoryState.this) {
                entries.add(entry);
            }
        }

        @Override
        public void addDelivered(CohortRef cohort, Instant observedAt, long sent, long rejected, long wouldSend) {
            fault.check("UpdateItem (history)");
            synchronized (InMemoryState.this) {
                long[] c = delivered.computeIfAbsent(new AbstractMap.SimpleImmutableEntry<>(cohort, observedAt),
                        k -> new long[3]);
                c[0] += sent;
                c[1] += rejected;
                c[2] += wouldSend;
            }
        }

        @Override
        public List<HistoryEntry> recent(CohortRef cohort, int limit) {
            synchronized (InMemoryState.this) {
                List<HistoryEntry> mine = new ArrayList<>(entries.stream().filter(e -> e.cohort().equals(cohort))
                        .toList());
                Collections.reverse(mine);
                return mine.stream().limit(limit).toList();
            }
        }
    }

    /**
     * Segment's {@code /v1/batch} in memory: answers 200 unless told otherwise, 400 to a batch holding a
     * message it refuses ({@link #rejectWhen}, so the delivery splits down to that message, like the
     * stand-in), and keeps the messages of every accepted batch.
     */
    public final class Segment implements SegmentTransport {
        /** Messages of accepted batches, as sent (JSON). */
        public final List<JsonNode> accepted = new ArrayList<>();
        public int requests;
        public long bytes;
        private final Deque<SegmentResponse> answers = new ArrayDeque<>();
        private Predicate<JsonNode> reject = m -> false;
        private boolean keep = true;

        /** The next requests are answered these, in order, before anything is looked at. */
        public Segment answer(SegmentResponse... next) {
            synchronized (InMemoryState.this) {
                answers.addAll(List.of(next));
            }
            return this;
        }

        /** The next {@code times} requests get HTTP {@code status}. */
        public Segment answer(int status, int times) {
            for (int i = 0; i < times; i++) {
                answer(new SegmentResponse.Answered(status, Optional.empty()));
            }
            return this;
        }

        /** A batch holding a message this matches is answered 400 as a whole. */
        public Segment rejectWhen(Predicate<JsonNode> message) {
            this.reject = message;
            return this;
        }

        /** Accepted batches are counted, their messages not kept (the bench). */
        public Segment counting() {
            keep = false;
            return this;
        }

        @Override
        public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
            synchronized (InMemoryState.this) {
                requests++;
                bytes += body.length;
                SegmentResponse scripted = answers.pollFirst();
                if (scripted != null) {
                    return scripted;
                }
                if (!keep) {
                    return new SegmentResponse.Answered(200, Optional.empty());
                }
                JsonNode batch;
                try {
                    batch = JSON.readTree(body).get("batch");
                } catch (IOException e) {
                    return new SegmentResponse.Answered(400, Optional.empty());
                }
                for (JsonNode m : batch) {
                    if (reject.test(m)) {
                        return new SegmentResponse.Answered(400, Optional.empty());
                    }
                }
                batch.forEach(accepted::add);
                return new SegmentResponse.Answered(200, Optional.empty());
            }
        }

        /**
         * Each accepted identify's userId (or anonymousId) → its traits, the last message winning (what a profile
         * ends with). Track events set no traits and are left out.
         */
        public Map<String, Map<String, Object>> profiles() {
            Map<String, Map<String, Object>> profiles = new LinkedHashMap<>();
            synchronized (InMemoryState.this) {
                for (JsonNode m : accepted) {
                    if (!m.has("traits")) {
                        continue;
                    }
                    String who = m.hasNonNull("userId") ? m.get("userId").asText() : m.path("anonymousId").asText();
                    Map<String, Object> traits = profiles.computeIfAbsent(who,
                            k -> new LinkedHashMap<>());
                    m.get("traits").properties().forEach(t -> traits.put(t.getKey(),
                            t.getValue().isBoolean() ? t.getValue().asBoolean() : t.getValue().asText()));
                }
            }
            return profiles;
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
