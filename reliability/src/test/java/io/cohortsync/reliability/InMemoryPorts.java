package io.cohortsync.reliability;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The webhook's ports in memory, with the adapters' semantics (conditional commits, idempotent receipts). */
final class InMemoryPorts {
    private InMemoryPorts() {
    }

    static final class Store implements MembershipStore {
        private final Map<CohortRef, Map<String, Membership>> rows = new HashMap<>();

        @Override
        public synchronized Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            Map<String, Membership> found = new HashMap<>();
            Map<String, Membership> c = rows.getOrDefault(cohort, Map.of());
            ids.forEach(id -> {
                if (c.containsKey(id)) {
                    found.put(id, c.get(id));
                }
            });
            return found;
        }

        @Override
        public synchronized Set<String> commit(CohortRef cohort, List<Change> changes) {
            Map<String, Membership> c = rows.computeIfAbsent(cohort, k -> new HashMap<>());
            Set<String> conflicts = new HashSet<>();
            for (Change ch : changes) {
                if (c.getOrDefault(ch.distinctId(), Membership.ABSENT).equals(ch.from())) {
                    c.put(ch.distinctId(), ch.to());
                } else {
                    conflicts.add(ch.distinctId());
                }
            }
            return conflicts;
        }

        @Override
        public synchronized Map<String, Membership> currentMembers(CohortRef cohort) {
            Map<String, Membership> members = new HashMap<>();
            rows.getOrDefault(cohort, Map.of()).forEach((id, m) -> {
                if (m.member()) {
                    members.put(id, m);
                }
            });
            return members;
        }
    }

    static final class Queue implements DeltaQueue {
        final List<Delta> deltas = new ArrayList<>();

        @Override
        public synchronized void enqueue(List<Delta> batch) {
            deltas.addAll(batch);
        }
    }

    static final class Sessions implements SessionStore {
        private final Map<SessionKey, Map<Integer, Set<String>>> pages = new HashMap<>();
        private final Map<SessionKey, SessionOutcome> outcomes = new HashMap<>();

        @Override
        public synchronized void recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
            pages.computeIfAbsent(session, k -> new HashMap<>()).put(page, Set.copyOf(ids));
        }

        @Override
        public synchronized Set<Integer> receivedPages(SessionKey session) {
            return Set.copyOf(pages.getOrDefault(session, Map.of()).keySet());
        }

        @Override
        public synchronized Set<String> exportedIds(SessionKey session) {
            Set<String> ids = new HashSet<>();
            pages.getOrDefault(session, Map.of()).values().forEach(ids::addAll);
            return ids;
        }

        @Override
        public synchronized Optional<SessionOutcome> outcome(SessionKey session) {
            return Optional.ofNullable(outcomes.get(session));
        }

        @Override
        public synchronized void recordOutcome(SessionKey session, SessionOutcome outcome) {
            outcomes.put(session, outcome);
        }
    }
}
