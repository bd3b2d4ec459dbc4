package io.cohortsync.bench;

import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.SegmentTransport;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The ports in memory, so the CPU our own code spends per page can be measured without I/O. The
 * queue still encodes the deltas (the SQS adapter does that work before sending), and the Segment
 * transport receives the finished request body.
 */
final class InMemoryPorts {
    private InMemoryPorts() {
    }

    static final class Store implements MembershipStore {
        final Map<CohortRef, Map<String, Membership>> rows = new HashMap<>();

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> distinctIds, boolean consistent) {
            Map<String, Membership> stored = rows.getOrDefault(cohort, Map.of());
            Map<String, Membership> found = new HashMap<>();
            for (String id : distinctIds) {
                Membership m = stored.get(id);
                if (m != null) {
                    found.put(id, m);
                }
            }
            return found;
        }

        @Override
        public Set<String> commit(CohortRef cohort, List<Change> changes) {
            Map<String, Membership> stored = rows.computeIfAbsent(cohort, c -> new HashMap<>());
            Set<String> conflicts = new HashSet<>();
            for (Change c : changes) {
                Membership now = stored.getOrDefault(c.distinctId(), Membership.ABSENT);
                if (now.equals(c.from())) {
                    stored.put(c.distinctId(), c.to());
                } else {
                    conflicts.add(c.distinctId());
                }
            }
            return conflicts;
        }

        @Override
        public Map<String, Membership> currentMembers(CohortRef cohort) {
            Map<String, Membership> members = new HashMap<>();
            rows.getOrDefault(cohort, Map.of()).forEach((id, m) -> {
                if (m.member()) {
                    members.put(id, m);
                }
            });
            return members;
        }
    }

    /** Encodes like the SQS adapter, then drops the bodies. */
    static final class Queue implements DeltaQueue, DelayedDeltaQueue {
        long bodies;

        @Override
        public void enqueue(List<Delta> deltas) {
            bodies += DeltaCodec.encode(deltas, SqsDeltaQueue.MAX_MESSAGE_BYTES).size();
        }

        @Override
        public void enqueueDelayed(List<Delta> deltas, Duration delay) {
            enqueue(deltas);
        }
    }

    static final class Sessions implements SessionStore {
        final Map<SessionKey, Map<Integer, Set<String>>> pages = new HashMap<>();
        final Map<SessionKey, SessionOutcome> outcomes = new HashMap<>();

        @Override
        public void recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds) {
            pages.computeIfAbsent(session, s -> new HashMap<>()).put(page, Set.copyOf(distinctIds));
        }

        @Override
        public Set<Integer> receivedPages(SessionKey session) {
            return new TreeSet<>(pages.getOrDefault(session, Map.of()).keySet());
        }

        @Override
        public Set<String> exportedIds(SessionKey session) {
            Set<String> ids = new HashSet<>();
            pages.getOrDefault(session, Map.of()).values().forEach(ids::addAll);
            return ids;
        }

        @Override
        public Optional<SessionOutcome> outcome(SessionKey session) {
            return Optional.ofNullable(outcomes.get(session));
        }

        @Override
        public void recordOutcome(SessionKey session, SessionOutcome outcome) {
            outcomes.put(session, outcome);
        }
    }

    static final class NoDeadLetters implements DeadLetterQueue {
        @Override
        public void send(List<DeadLetter> letters) {
            // Nothing is rejected in the probe; a letter would only be dropped here.
        }
    }

    /** Segment accepting everything at once. */
    static final class Accepting implements SegmentTransport {
        long bytes;

        @Override
        public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
            bytes += body.length;
            return new SegmentResponse.Answered(200, Optional.empty());
        }
    }
}
