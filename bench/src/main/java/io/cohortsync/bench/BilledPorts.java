package io.cohortsync.bench;

import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
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
import io.cohortsync.testkit.InMemoryState;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Every port of both cores in memory, billed as the DynamoDB and SQS adapters would be billed for the
 * same calls (the same requests per call, units by {@link DynamoBilling} from {@link ScaleItems}'
 * sizes, per partition key), into one {@link Ledger}. Membership, cohort and reconcile state live in
 * testkit's {@link InMemoryState} (the adapters' semantics); the session store is this class's own,
 * because it keeps each page's ids split by shard as DynamoSessionStore does, so a shard job reads
 * only its own ids (InMemoryState filters every id of the session, which would cost the reconciler
 * CPU that production does not spend). Ids and items handed to the cores are fresh copies, as an SDK
 * response parses them, so what a pass keeps is on the reconciler's heap, not shared with the store.
 */
final class BilledPorts {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    final InMemoryState state = new InMemoryState();
    final Ledger ledger = new Ledger();
    final Members members = new Members();
    final Sessions sessions = new Sessions();
    final Cohorts cohorts = new Cohorts();
    final Progress progress = new Progress();
    final Jobs jobs = new Jobs();
    final Deltas deltas = new Deltas();
    /** Whether exits carry {@code expiresAt} (EXITED_TTL_DAYS > 0, the default 30). */
    final boolean exitTtl;

    BilledPorts(boolean exitTtl) {
        this.exitTtl = exitTtl;
    }

    private final Map<CohortRef, String[]> shardPks = new HashMap<>();

    String pk(CohortRef cohort, int shard) {
        return shardPks.computeIfAbsent(cohort, c -> {
            String[] pks = new String[Shards.COUNT];
            for (int s = 0; s < Shards.COUNT; s++) {
                pks[s] = ScaleItems.membershipPk(c, s);
            }
            return pks;
        })[shard];
    }

    private int bytes(CohortRef cohort, int shard, String id, Membership m) {
        return ScaleItems.membershipBytes(pk(cohort, shard), id, m, exitTtl);
    }

    /** Called with the changes of a membership commit before it is applied; see {@link Members#crashHook}. */
    @FunctionalInterface
    interface CrashHook {
        /** @return how many of {@code changes} land before the function dies, or -1 to let the commit run */
        int keepBeforeCrash(List<Change> changes);
    }

    /** The function died (injected): the invocation ends with what it wrote so far. */
    static final class InjectedCrash extends RuntimeException {
        InjectedCrash() {
            super("injected crash");
        }
    }

    /** The membership table: BatchGetItem, conditional PutItem, UpdateItem (marks), Query (shard scans). */
    final class Members implements MembershipStore {
        CrashHook crashHook;

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            ledger.call("DynamoDb.BatchGetItem", DynamoBilling.ceilDiv(ids.size(), 100));
            Map<String, Membership> found = state.members.read(cohort, ids, consistent);
            Map<String, Membership> copy = new HashMap<>(found.size() * 2);
            for (String id : ids) {
                int shard = Shards.of(id);
                Membership m = found.get(id);
                ledger.read(ItemKind.MEMBERSHIP, pk(cohort, shard),
                        DynamoBilling.read(m == null ? 0 : bytes(cohort, shard, id, m), consistent));
                if (m != null) {
                    copy.put(id, copyOf(m));
                }
            }
            return copy;
        }

        @Override
        public Set<String> commit(CohortRef cohort, List<Change> changes) {
            return commitUnlisted(cohort, changes, 0);
        }

        @Override
        public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
            List<Change> sent = changes;
            int keep = crashHook == null ? -1 : crashHook.keepBeforeCrash(changes);
            if (keep >= 0) {
                sent = changes.subList(0, keep);
            }
            for (Change c : sent) {
                int shard = Shards.of(c.distinctId());
                Membership old = state.members.get(cohort, c.distinctId());
                int oldBytes = old.version() == 0 ? 0 : bytes(cohort, shard, c.distinctId(), old);
                // A write whose condition fails is billed too.
                ledger.write(ItemKind.MEMBERSHIP, pk(cohort, shard),
                        DynamoBilling.write(oldBytes, bytes(cohort, shard, c.distinctId(), c.to())));
            }
            ledger.call("DynamoDb.PutItem", sent.size());
            Set<String> conflicts = state.members.commitUnlisted(cohort, sent, unlistedBefore);
            if (keep >= 0) {
                throw new InjectedCrash();
            }
            return conflicts;
        }

        @Override
        public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
            unchanged.forEach((id, m) -> {
                int shard = Shards.of(id);
                Membership marked = new Membership(m.member(), m.version(), m.userId(), m.nameVersion(), epoch,
                        m.anonymous());
                ledger.write(ItemKind.MEMBERSHIP, pk(cohort, shard),
                        DynamoBilling.write(bytes(cohort, shard, id, m), bytes(cohort, shard, id, marked)));
            });
            ledger.call("DynamoDb.UpdateItem", unchanged.size());
            return state.members.mark(cohort, unchanged, epoch);
        }

        @Override
        public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
            ScanPage page = state.members.scan(cohort, shard, from, to, cursor, limit);
            long read = 0;
            List<Map.Entry<String, Membership>> items = new ArrayList<>(page.items().size());
            for (Map.Entry<String, Membership> e : page.items()) {
                read += bytes(cohort, shard, e.getKey(), e.getValue());
                items.add(new AbstractMap.SimpleImmutableEntry<>(fresh(e.getKey()), copyOf(e.getValue())));
            }
            ledger.call("DynamoDb.Query", 1);
            ledger.read(ItemKind.MEMBERSHIP, pk(cohort, shard), DynamoBilling.query(read, true));
            return new ScanPage(items, page.next() == null ? null : fresh(page.next()));
        }

        @Override
        public boolean hasLegacyState(CohortRef cohort) {
            ledger.call("DynamoDb.Query", 1);
            ledger.read(ItemKind.LEGACY_MEMBERSHIP, Keys.legacyMembershipPk(cohort),
                    DynamoBilling.query(0, true));
            return state.members.hasLegacyState(cohort);
        }

        @Override
        public int migrateLegacy(CohortRef cohort, int limit) {
            throw new UnsupportedOperationException("bench-scale does not migrate");
        }
    }

    /** One piece of a page's ids of one shard, as DynamoSessionStore stores it. */
    private record Piece(String[] ids, int bytes) {
    }

    private record Receipt(int bytes) {
    }

    /** Full-sync sessions: page receipts and per-shard id pieces (own storage), outcomes in InMemoryState. */
    final class Sessions implements SessionStore {
        private final Map<SessionKey, Map<Integer, Receipt>> receipts = new HashMap<>();
        /** session → shard → page → pieces. */
        private final Map<SessionKey, List<TreeMap<Integer, List<Piece>>>> pieces = new HashMap<>();
        /** Session ids handed to the reconciler, the Query calls that read them, and the thread CPU time spent streaming them (its passes). */
        long idsStreamed;
        long idQueries;
        long streamCpuNanos;

        @Override
        public int recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds) {
            String pk = ScaleItems.sessionPk(session);
            Map<Integer, Receipt> recorded = receipts.computeIfAbsent(session, k -> new HashMap<>());
            List<List<String>> byShard = new ArrayList<>();
            for (int s = 0; s < Shards.COUNT; s++) {
                byShard.add(new ArrayList<>());
            }
            distinctIds.forEach(id -> byShard.get(Shards.of(id)).add(id));
            List<TreeMap<Integer, List<Piece>>> shards = pieces.computeIfAbsent(session, k -> {
                List<TreeMap<Integer, List<Piece>>> l = new ArrayList<>();
                for (int s = 0; s < Shards.COUNT; s++) {
                    l.add(new TreeMap<>());
                }
                return l;
            });
            int written = 0;
            for (int shard = 0; shard < Shards.COUNT; shard++) {
                List<Piece> list = new ArrayList<>();
                List<String> current = new ArrayList<>();
                long idBytes = 0;
                for (String id : byShard.get(shard)) {
                    int size = ScaleItems.utf8(id);
                    if (!current.isEmpty() && idBytes + size > ScaleItems.PIECE_BYTES) {
                        list.add(piece(pk, shard, page, list.size(), current, idBytes));
                        current = new ArrayList<>();
                        idBytes = 0;
                    }
                    current.add(id);
                    idBytes += size;
                }
                if (!current.isEmpty()) {
                    list.add(piece(pk, shard, page, list.size(), current, idBytes));
                }
                shards.get(shard).put(page, list);
                written += list.size();
            }
            ledger.call("DynamoDb.BatchWriteItem", DynamoBilling.ceilDiv(written, 25));
            // The receipt and the page counter in one TransactWriteItems (each item billed twice), then the
            // counter read back (GetItem, strongly consistent).
            int receiptBytes = ScaleItems.receiptBytes(pk, page, totalPages, written, distinctIds.size());
            int counterBytes = ScaleItems.pageCounterBytes(pk, recorded.size() + 1);
            ledger.call("DynamoDb.TransactWriteItems", 1);
            if (!recorded.containsKey(page)) {
                ledger.write(ItemKind.SESSION_RECEIPT, pk, DynamoBilling.transactionalWrite(0, receiptBytes)
                        + DynamoBilling.transactionalWrite(counterBytes, counterBytes));
                recorded.put(page, new Receipt(receiptBytes));
            }
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.SESSION_RECEIPT, pk, DynamoBilling.read(counterBytes, true));
            return recorded.size();
        }

        @Override
        public OptionalInt pagesIfRecorded(SessionKey session, int page) {
            String pk = ScaleItems.sessionPk(session);
            Map<Integer, Receipt> recorded = receipts.getOrDefault(session, Map.of());
            Receipt receipt = recorded.get(page);
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.SESSION_RECEIPT, pk, DynamoBilling.read(receipt == null ? 0 : receipt.bytes(), true));
            if (receipt == null) {
                return OptionalInt.empty();
            }
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.SESSION_RECEIPT, pk,
                    DynamoBilling.read(ScaleItems.pageCounterBytes(pk, recorded.size()), true));
            return OptionalInt.of(recorded.size());
        }

        private Piece piece(String pk, int shard, int page, int index, List<String> ids, long idBytes) {
            // Pieces are stored deflated (DynamoSessionStore.packIds): billed by the packed size.
            int bytes = ScaleItems.pieceBytes(pk, shard, page, index, DynamoSessionStore.packIds(ids).length);
            ledger.write(ItemKind.SESSION_IDS, pk, DynamoBilling.write(0, bytes));
            return new Piece(ids.toArray(String[]::new), bytes);
        }

        /**
         * A Query over {@code bytes} of items: one call per 1 MB page read, one unit per 4 KB (strongly consistent).
         *
         * @return the calls
         */
        private long query(ItemKind kind, String pk, long bytes) {
            long pages = Math.max(1, DynamoBilling.ceilDiv(bytes, DynamoBilling.QUERY_PAGE_BYTES));
            ledger.call("DynamoDb.Query", pages);
            long full = bytes / DynamoBilling.QUERY_PAGE_BYTES;
            double units = full * DynamoBilling.query(DynamoBilling.QUERY_PAGE_BYTES, true)
                    + (bytes % DynamoBilling.QUERY_PAGE_BYTES > 0 || full == 0
                    ? DynamoBilling.query(bytes % DynamoBilling.QUERY_PAGE_BYTES, true) : 0);
            ledger.read(kind, pk, units);
            return pages;
        }

        @Override
        public void forEachExportedId(SessionKey session, int shard, Consumer<String> each) {
            long started = THREADS.getCurrentThreadCpuTime();
            List<TreeMap<Integer, List<Piece>>> shards = pieces.get(session);
            long bytes = 0;
            if (shards != null) {
                for (List<Piece> page : shards.get(shard).values()) {
                    for (Piece p : page) {
                        bytes += p.bytes();
                        for (String id : p.ids()) {
                            idsStreamed++;
                            each.accept(fresh(id));
                        }
                    }
                }
            }
            idQueries += query(ItemKind.SESSION_IDS, ScaleItems.sessionPk(session), bytes);
            streamCpuNanos += THREADS.getCurrentThreadCpuTime() - started;
        }

        @Override
        public Optional<SessionOutcome> outcome(SessionKey session) {
            Optional<SessionOutcome> o = state.sessions.outcome(session);
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.SESSION_OUTCOME, ScaleItems.sessionPk(session),
                    DynamoBilling.read(o.map(x -> ScaleItems.outcomeBytes(session, x, 1)).orElse(0), true));
            return o;
        }

        @Override
        public void recordOutcome(SessionKey session, SessionOutcome outcome) {
            ledger.call("DynamoDb.PutItem", 1);
            int bytes = ScaleItems.outcomeBytes(session, outcome, 0);
            ledger.write(ItemKind.SESSION_OUTCOME, ScaleItems.sessionPk(session), DynamoBilling.write(bytes, bytes));
            state.sessions.recordOutcome(session, outcome);
        }
    }

    /** The cohort item: GetItem (strongly consistent), conditional PutItem / UpdateItem, one transaction. */
    final class Cohorts implements CohortStore {
        @Override
        public Optional<CohortState> load(CohortRef cohort) {
            Optional<CohortState> s = state.cohorts.load(cohort);
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.COHORT, ScaleItems.cohortPk(cohort),
                    DynamoBilling.read(s.map(x -> ScaleItems.cohortBytes(cohort, x)).orElse(0), true));
            return s;
        }

        @Override
        public boolean create(CohortRef cohort, CohortState s) {
            ledger.call("DynamoDb.PutItem", 1);
            ledger.write(ItemKind.COHORT, ScaleItems.cohortPk(cohort), DynamoBilling.write(0, ScaleItems.cohortBytes(cohort, s)));
            return state.cohorts.create(cohort, s);
        }

        @Override
        public boolean rename(CohortRef cohort, CohortState current, CohortState next) {
            ledger.call("DynamoDb.UpdateItem", 1);
            ledger.write(ItemKind.COHORT, ScaleItems.cohortPk(cohort), DynamoBilling.write(
                    ScaleItems.cohortBytes(cohort, current), ScaleItems.cohortBytes(cohort, next)));
            return state.cohorts.rename(cohort, current, next);
        }

        @Override
        public boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages) {
            // TransactWriteItems: the cohort's update and the outcome's put, each billed twice.
            ledger.call("DynamoDb.TransactWriteItems", 1);
            CohortState next = current.completed(session.sessionId());
            ledger.write(ItemKind.COHORT, ScaleItems.cohortPk(cohort), DynamoBilling.transactionalWrite(
                    ScaleItems.cohortBytes(cohort, current), ScaleItems.cohortBytes(cohort, next)));
            ledger.write(ItemKind.SESSION_OUTCOME, ScaleItems.sessionPk(session), DynamoBilling.transactionalWrite(0,
                    ScaleItems.outcomeBytes(session, new SessionOutcome(SessionOutcome.Status.RECONCILING,
                            next.epoch(), 0, 0), pages)));
            return state.cohorts.completeSession(cohort, current, session, pages);
        }

        @Override
        public void finishReconcile(CohortRef cohort, long epoch) {
            smallUpdate(cohort);
            state.cohorts.finishReconcile(cohort, epoch);
        }

        @Override
        public void startMigration(CohortRef cohort, String name) {
            smallUpdate(cohort);
            state.cohorts.startMigration(cohort, name);
        }

        @Override
        public void finishMigration(CohortRef cohort) {
            smallUpdate(cohort);
            state.cohorts.finishMigration(cohort);
        }

        @Override
        public void recordSync(CohortRef cohort, CohortState read, Instant at, String action) {
            if (read.activity() == null) {
                // The registry entry (REG#cohorts), once per cohort: a small put.
                ledger.call("DynamoDb.PutItem", 1);
                ledger.write(ItemKind.COHORT, ScaleItems.cohortPk(cohort), DynamoBilling.write(0, 100));
            }
            smallUpdate(cohort);
            state.cohorts.recordSync(cohort, read, at, action);
        }

        @Override
        public boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at) {
            smallUpdate(cohort);
            return state.cohorts.finishRetirement(cohort, epoch, syncsAtStart, at);
        }

        private void smallUpdate(CohortRef cohort) {
            ledger.call("DynamoDb.UpdateItem", 1);
            int bytes = state.cohorts.load(cohort).map(s -> ScaleItems.cohortBytes(cohort, s)).orElse(0);
            ledger.write(ItemKind.COHORT, ScaleItems.cohortPk(cohort), DynamoBilling.write(bytes, bytes));
        }
    }

    /** Checkpoints and summaries in the cohort's R# partition. */
    final class Progress implements ReconcileStore {
        /** Called after every checkpoint write that succeeded: one per chunk (the heap probe samples here). */
        Runnable afterSave = () -> { };
        long saves;

        @Override
        public Optional<Checkpoint> checkpoint(ReconcileJob job) {
            Optional<Checkpoint> cp = state.progress.checkpoint(job);
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.CHECKPOINT, ScaleItems.reconcilePk(job.cohort()),
                    DynamoBilling.read(cp.map(c -> ScaleItems.checkpointBytes(job, c)).orElse(0), true));
            return cp;
        }

        @Override
        public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
            ledger.call("DynamoDb.PutItem", 1);
            ledger.write(ItemKind.CHECKPOINT, ScaleItems.reconcilePk(job.cohort()), DynamoBilling.write(
                    previous.seq() == 0 ? 0 : ScaleItems.checkpointBytes(job, previous), ScaleItems.checkpointBytes(job, next)));
            boolean saved = state.progress.save(job, previous, next);
            if (saved) {
                saves++;
                afterSave.run();
            }
            return saved;
        }

        @Override
        public Summary report(ReconcileJob job, Checkpoint finalCheckpoint) {
            ledger.call("DynamoDb.UpdateItem", 1);
            int bytes = ScaleItems.summaryBytes(job, Shards.COUNT);
            ledger.write(ItemKind.RECONCILE_SUMMARY, ScaleItems.reconcilePk(job.cohort()), DynamoBilling.write(bytes, bytes));
            return state.progress.report(job, finalCheckpoint);
        }

        @Override
        public boolean decide(ReconcileJob job, Phase decision) {
            ledger.call("DynamoDb.UpdateItem", 1);
            int bytes = ScaleItems.summaryBytes(job, Shards.COUNT);
            ledger.write(ItemKind.RECONCILE_SUMMARY, ScaleItems.reconcilePk(job.cohort()), DynamoBilling.write(bytes, bytes));
            return state.progress.decide(job, decision);
        }

        @Override
        public Optional<Summary> summary(ReconcileJob job) {
            ledger.call("DynamoDb.GetItem", 1);
            ledger.read(ItemKind.RECONCILE_SUMMARY, ScaleItems.reconcilePk(job.cohort()),
                    DynamoBilling.read(ScaleItems.summaryBytes(job, Shards.COUNT), true));
            return state.progress.summary(job);
        }

        @Override
        public List<Summary> recent(CohortRef cohort, int limit) {
            ledger.call("DynamoDb.Query", 1);
            return state.progress.recent(cohort, limit);
        }
    }

    /** A job on the reconcile queue, with how often SQS delivered it. */
    record Queued(ReconcileJob job, int receiveCount) {
    }

    /** The reconcile queue: SendMessageBatch, ten jobs a call (each message a few hundred bytes). */
    final class Jobs implements ReconcileQueue {
        private final Deque<Queued> waiting = new ArrayDeque<>();
        long delayed;

        @Override
        public void enqueue(List<ReconcileJob> batch) {
            if (batch.isEmpty()) {
                return;
            }
            long calls = DynamoBilling.ceilDiv(batch.size(), 10);
            for (long i = 0; i < calls; i++) {
                ledger.sqs("Sqs.SendMessageBatch", 1);
            }
            ledger.jobMessages(batch.size());
            batch.forEach(j -> waiting.addLast(new Queued(j, 1)));
        }

        @Override
        public void enqueueDelayed(List<ReconcileJob> batch, Duration delay) {
            delayed += batch.size();
            enqueue(batch);
        }

        /** The next job SQS would deliver, or null. */
        Queued poll() {
            return waiting.pollFirst();
        }

        /** A record the handler reported failed comes back (after its visibility timeout). */
        void redeliver(Queued q) {
            waiting.addLast(new Queued(q.job(), q.receiveCount() + 1));
        }

        int size() {
            return waiting.size();
        }
    }

    /**
     * The delta queue: the deltas encoded into message bodies exactly as SqsDeltaQueue encodes them (that
     * CPU is the functions'), sent ten bodies and at most 256 KiB a SendMessageBatch, billed per 64 KiB.
     * The deltas are handed to {@link #listener} and not kept.
     */
    final class Deltas implements DeltaQueue {
        Consumer<List<Delta>> listener = d -> { };

        @Override
        public void enqueue(List<Delta> batch) {
            if (batch.isEmpty()) {
                return;
            }
            List<String> bodies = DeltaCodec.encode(batch, DeltaQueue.MAX_MESSAGE_BYTES);
            long callBytes = 0;
            int entries = 0;
            for (String body : bodies) {
                int size = body.getBytes(StandardCharsets.UTF_8).length;
                if (entries > 0 && (entries == 10 || callBytes + size > 262_144)) {
                    ledger.sqs("Sqs.SendMessageBatch", Meter.chunks(callBytes));
                    callBytes = 0;
                    entries = 0;
                }
                callBytes += size;
                entries++;
            }
            ledger.sqs("Sqs.SendMessageBatch", Meter.chunks(callBytes));
            ledger.deltaMessages(bodies.size(), batch.size());
            listener.accept(batch);
        }
    }

    /** A copy of a string with its own characters, as parsing a response would make it. */
    static String fresh(String s) {
        return new String(s.toCharArray());
    }

    private static Membership copyOf(Membership m) {
        return new Membership(m.member(), m.version(), m.userId(), m.nameVersion(), m.listedEpoch(),
                m.anonymous());
    }
}
