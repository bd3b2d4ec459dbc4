package io.cohortsync.reliability.chaos;

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
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.ReconcileQueue;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.SegmentTransport;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Wrappers around the real adapters that let {@link Faults} throttle a dependency or kill the function
 * at any port call, for all three functions. Production code is untouched: the handlers are wired around
 * these through their public factories ({@code WebhookFactory.create}, {@code SenderFactory.create},
 * {@code ReconcilerFactory.create}). Port names are {@code <port>.<method>}, as counted in the table.
 *
 * <p>Where a real call can stop half-way (a commit or mark of many items is one write per item; an
 * enqueue of many messages is one SendMessageBatch per ten), a planned crash may leave exactly the first
 * half done.
 */
public final class FaultyPorts {
    static final String DYNAMODB = "DynamoDB";
    static final String SQS = "SQS";
    static final String SECRETS = "SecretsManager";

    private FaultyPorts() {
    }

    public static MembershipStore store(MembershipStore real, Faults faults) {
        return new MembershipStore() {
            @Override
            public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
                return faults.call("store.read", DYNAMODB, () -> real.read(cohort, ids, consistent));
            }

            @Override
            public Set<String> commit(CohortRef cohort, List<Change> changes) {
                return faults.call("store.commit", DYNAMODB, () -> real.commit(cohort, changes),
                        changes.size() < 2 ? null : () -> real.commit(cohort, changes.subList(0, changes.size() / 2)));
            }

            @Override
            public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
                return faults.call("store.commitUnlisted", DYNAMODB,
                        () -> real.commitUnlisted(cohort, changes, unlistedBefore),
                        changes.size() < 2 ? null
                                : () -> real.commitUnlisted(cohort, changes.subList(0, changes.size() / 2), unlistedBefore));
            }

            @Override
            public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
                return faults.call("store.mark", DYNAMODB, () -> real.mark(cohort, unchanged, epoch),
                        unchanged.size() < 2 ? null : () -> real.mark(cohort, half(unchanged), epoch));
            }

            @Override
            public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
                return faults.call("store.scan", DYNAMODB, () -> real.scan(cohort, shard, from, to, cursor, limit));
            }

            @Override
            public boolean hasLegacyState(CohortRef cohort) {
                return faults.call("store.hasLegacyState", DYNAMODB, () -> real.hasLegacyState(cohort));
            }

            @Override
            public int migrateLegacy(CohortRef cohort, int limit) {
                return faults.call("store.migrateLegacy", DYNAMODB, () -> real.migrateLegacy(cohort, limit),
                        limit < 2 ? null : () -> real.migrateLegacy(cohort, limit / 2));
            }
        };
    }

    private static <K, V> Map<K, V> half(Map<K, V> all) {
        Map<K, V> first = new LinkedHashMap<>();
        for (Map.Entry<K, V> e : all.entrySet()) {
            if (first.size() == all.size() / 2) {
                break;
            }
            first.put(e.getKey(), e.getValue());
        }
        return first;
    }

    public static SessionStore sessions(SessionStore real, Faults faults) {
        return new SessionStore() {
            @Override
            public int recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
                return faults.call("sessions.recordPage", DYNAMODB, () -> real.recordPage(session, page, totalPages, ids));
            }

            @Override
            public OptionalInt pagesIfRecorded(SessionKey session, int page) {
                return faults.call("sessions.pagesIfRecorded", DYNAMODB, () -> real.pagesIfRecorded(session, page));
            }

            @Override
            public void forEachExportedId(SessionKey session, int shard, Consumer<String> each) {
                faults.run("sessions.forEachExportedId", DYNAMODB, () -> real.forEachExportedId(session, shard, each));
            }

            @Override
            public Optional<SessionOutcome> outcome(SessionKey session) {
                return faults.call("sessions.outcome", DYNAMODB, () -> real.outcome(session));
            }

            @Override
            public void recordOutcome(SessionKey session, SessionOutcome outcome) {
                faults.run("sessions.recordOutcome", DYNAMODB, () -> real.recordOutcome(session, outcome));
            }
        };
    }

    public static CohortStore cohorts(CohortStore real, Faults faults) {
        return new CohortStore() {
            @Override
            public Optional<CohortState> load(CohortRef cohort) {
                return faults.call("cohorts.load", DYNAMODB, () -> real.load(cohort));
            }

            @Override
            public boolean create(CohortRef cohort, CohortState state) {
                return faults.call("cohorts.create", DYNAMODB, () -> real.create(cohort, state));
            }

            @Override
            public boolean rename(CohortRef cohort, CohortState current, CohortState next) {
                return faults.call("cohorts.rename", DYNAMODB, () -> real.rename(cohort, current, next));
            }

            @Override
            public boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages) {
                return faults.call("cohorts.completeSession", DYNAMODB,
                        () -> real.completeSession(cohort, current, session, pages));
            }

            @Override
            public void finishReconcile(CohortRef cohort, long epoch) {
                faults.run("cohorts.finishReconcile", DYNAMODB, () -> real.finishReconcile(cohort, epoch));
            }

            @Override
            public void startMigration(CohortRef cohort, String name) {
                faults.run("cohorts.startMigration", DYNAMODB, () -> real.startMigration(cohort, name));
            }

            @Override
            public void finishMigration(CohortRef cohort) {
                faults.run("cohorts.finishMigration", DYNAMODB, () -> real.finishMigration(cohort));
            }

            @Override
            public void recordSync(CohortRef cohort, CohortState read, Instant at, String action) {
                faults.run("cohorts.recordSync", DYNAMODB, () -> real.recordSync(cohort, read, at, action));
            }

            @Override
            public boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at) {
                return faults.call("cohorts.finishRetirement", DYNAMODB,
                        () -> real.finishRetirement(cohort, epoch, syncsAtStart, at));
            }
        };
    }

    public static ReconcileStore progress(ReconcileStore real, Faults faults) {
        return new ReconcileStore() {
            @Override
            public Optional<Checkpoint> checkpoint(ReconcileJob job) {
                return faults.call("progress.checkpoint", DYNAMODB, () -> real.checkpoint(job));
            }

            @Override
            public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
                return faults.call("progress.save", DYNAMODB, () -> real.save(job, previous, next));
            }

            @Override
            public Summary report(ReconcileJob job, Checkpoint finalCheckpoint) {
                return faults.call("progress.report", DYNAMODB, () -> real.report(job, finalCheckpoint));
            }

            @Override
            public boolean decide(ReconcileJob job, Phase decision) {
                return faults.call("progress.decide", DYNAMODB, () -> real.decide(job, decision));
            }

            @Override
            public Optional<Summary> summary(ReconcileJob job) {
                return faults.call("progress.summary", DYNAMODB, () -> real.summary(job));
            }

            @Override
            public List<Summary> recent(CohortRef cohort, int limit) {
                return faults.call("progress.recent", DYNAMODB, () -> real.recent(cohort, limit));
            }
        };
    }

    /**
     * The reconcile queue of either function; every job is noted in the ledger once SQS took it. A delayed
     * job ({@code enqueueDelayed}: its commit has not landed yet) waits in simulated time ({@link DelayedSends}).
     */
    static ReconcileQueue jobs(ReconcileQueue real, Faults faults, JobLedger ledger, DelayedSends delayed,
                               String queueUrl) {
        return new ReconcileQueue() {
            @Override
            public void enqueue(List<ReconcileJob> jobs) {
                faults.run("jobs.enqueue", SQS, () -> {
                    real.enqueue(jobs);
                    ledger.queued(jobs);
                }, jobs.size() < 2 ? null : () -> {
                    List<ReconcileJob> first = jobs.subList(0, jobs.size() / 2);
                    real.enqueue(first);
                    ledger.queued(first);
                });
            }

            @Override
            public void enqueueDelayed(List<ReconcileJob> jobs, Duration delay) {
                faults.run("jobs.enqueueDelayed", SQS, () -> {
                    delayed.send(queueUrl, jobs.stream().map(ReconcileJobCodec::encode).toList(), delay);
                    ledger.queued(jobs);
                });
            }
        };
    }

    /**
     * A delta queue (the webhook's or the reconciler's, named by {@code port}): every delta is noted in
     * the ledger before the real send (so any messageId can be decoded) and after it (durable).
     */
    public static DeltaQueue deltaQueue(String port, DeltaQueue real, Faults faults, DeltaLedger ledger) {
        return deltas -> {
            ledger.handedOver(port, deltas);
            faults.run(port, SQS, () -> {
                real.enqueue(deltas);
                ledger.queued(deltas);
            }, deltas.size() < 2 ? null : () -> {
                List<Delta> first = deltas.subList(0, deltas.size() / 2);
                real.enqueue(first);
                ledger.queued(first);
            });
        };
    }

    /** The sender's re-queue of deltas ahead of the table: they wait in simulated time ({@link DelayedSends}). */
    static DelayedDeltaQueue requeue(DelayedSends delayed, String queueUrl, Faults faults) {
        return (List<Delta> deltas, Duration delay) -> faults.run("requeue.enqueueDelayed", SQS,
                () -> delayed.send(queueUrl, DeltaCodec.encode(deltas, DeltaQueue.MAX_MESSAGE_BYTES), delay));
    }

    public static DeadLetterQueue deadLetters(DeadLetterQueue real, Faults faults, Consumer<List<DeadLetter>> sent) {
        return letters -> faults.run("dlq.send", SQS, () -> {
            real.send(letters);
            sent.accept(letters);
        });
    }

    public static SecretSource secrets(SecretSource real, Faults faults) {
        return id -> faults.call("secrets.read", SECRETS, () -> real.read(id));
    }

    /** Segment's own faults come from the stand-in; here the sender can only die around the call. */
    public static SegmentTransport segment(SegmentTransport real, Faults faults, Consumer<SegmentResponse> seen) {
        return (body, writeKey, timeout) -> faults.call("segment.postBatch", null, () -> {
            SegmentResponse response = real.postBatch(body, writeKey, timeout);
            seen.accept(response);
            return response;
        });
    }
}
