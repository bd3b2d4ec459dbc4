package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SecretSource;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.SegmentTransport;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Wrappers around the real adapters that let {@link Faults} throttle a dependency or kill the function
 * at any port call. Production code is untouched: the handlers are wired around these through their
 * public {@code withPorts(...)} factories.
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
            public Map<String, Membership> currentMembers(CohortRef cohort) {
                return faults.call("store.currentMembers", DYNAMODB, () -> real.currentMembers(cohort));
            }
        };
    }

    public static SessionStore sessions(SessionStore real, Faults faults) {
        return new SessionStore() {
            @Override
            public void recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
                faults.call("sessions.recordPage", DYNAMODB, () -> {
                    real.recordPage(session, page, totalPages, ids);
                    return null;
                });
            }

            @Override
            public Set<Integer> receivedPages(SessionKey session) {
                return faults.call("sessions.receivedPages", DYNAMODB, () -> real.receivedPages(session));
            }

            @Override
            public Set<String> exportedIds(SessionKey session) {
                return faults.call("sessions.exportedIds", DYNAMODB, () -> real.exportedIds(session));
            }

            @Override
            public Optional<SessionOutcome> outcome(SessionKey session) {
                return faults.call("sessions.outcome", DYNAMODB, () -> real.outcome(session));
            }

            @Override
            public void recordOutcome(SessionKey session, SessionOutcome outcome) {
                faults.call("sessions.recordOutcome", DYNAMODB, () -> {
                    real.recordOutcome(session, outcome);
                    return null;
                });
            }
        };
    }

    /** The webhook's queue: every delta is noted in the ledger before and after the real send. */
    public static DeltaQueue deltaQueue(DeltaQueue real, Faults faults, DeltaLedger ledger) {
        return deltas -> {
            ledger.handedOver(deltas);
            faults.call("queue.enqueue", SQS, () -> {
                real.enqueue(deltas);
                ledger.queued(deltas);
                return null;
            });
        };
    }

    public static DelayedDeltaQueue requeue(DelayedDeltaQueue real, Faults faults) {
        return (List<Delta> deltas, Duration delay) -> faults.call("requeue.enqueueDelayed", SQS, () -> {
            real.enqueueDelayed(deltas, delay);
            return null;
        });
    }

    public static DeadLetterQueue deadLetters(DeadLetterQueue real, Faults faults, Consumer<List<DeadLetter>> sent) {
        return letters -> faults.call("dlq.send", SQS, () -> {
            real.send(letters);
            sent.accept(letters);
            return null;
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
