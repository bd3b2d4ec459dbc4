package io.cohortsync.sync;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.Shards;
import io.cohortsync.mixpanel.Action;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.testkit.InMemoryState;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The webhook's core on testkit's in-memory ports, no network: what each kind of call changes,
 * announces and queues. (Its interplay with the reconciler is {@code ReconcileCoreTest}'s.)
 */
class CohortSyncServiceTest {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    private final InMemoryState state = new InMemoryState();
    private DeltaQueue queue = state.deltas;

    private CohortSyncService service() {
        return new CohortSyncService(state.members, queue, state.sessions, state.cohorts, state.jobs, true,
                Clock.fixed(NOW, ZoneOffset.UTC));
    }

    private SyncResult call(Action action, String name, String session, int page, int total, List<String> ids) {
        return service().apply(new CohortExport(action, COHORT, name, session, page, total, ids, ids.size(), Map.of()));
    }

    private SyncResult add(List<String> ids) {
        return call(Action.ADD_MEMBERS, "Power users", null, 1, 1, ids);
    }

    @Test
    void add_entersNewUsers_queuingEachDeltaBeforeItsCommit() {
        SyncResult r = add(List.of("u1", "u2"));

        assertThat(r.enters()).isEqualTo(2);
        assertThat(r.deltasQueued()).isEqualTo(2);
        assertThat(state.deltas.snapshot()).extracting(Delta::distinctId, Delta::member, Delta::version, Delta::observedAt)
                .containsExactly(tuple("u1", true, 1L, NOW),
                        tuple("u2", true, 1L, NOW));
        assertThat(state.members.get(COHORT, "u1")).extracting(Membership::member, Membership::version)
                .containsExactly(true, 1L);
    }

    @Test
    void add_ofUsersAlreadyIn_changesNothing_andQueuesNothing() {
        add(List.of("u1"));
        long writes = state.members.writes;

        SyncResult r = add(List.of("u1"));

        assertThat(r.enters()).isZero();
        assertThat(r.unchanged()).isEqualTo(1);
        assertThat(state.deltas.snapshot()).hasSize(1);
        assertThat(state.members.writes).isEqualTo(writes);
    }

    @Test
    void remove_exitsMembers_andIgnoresUsersNeverIn() {
        add(List.of("u1"));

        SyncResult r = call(Action.REMOVE_MEMBERS, "Power users", null, 1, 1, List.of("u1", "u9"));

        assertThat(r.exits()).isEqualTo(1);
        assertThat(r.unchanged()).isEqualTo(1);
        assertThat(state.members.get(COHORT, "u1")).extracting(Membership::member, Membership::version)
                .containsExactly(false, 2L);
        assertThat(state.deltas.snapshot().getLast()).extracting(Delta::member, Delta::version).containsExactly(false, 2L);
    }

    @Test
    void sameUserTwiceInACall_commitsOnce_andAnnouncesTheSameDeltaForTheSenderToHandleOnce() {
        SyncResult r = add(List.of("u1", "u1"));

        assertThat(r.enters()).isEqualTo(1);
        assertThat(state.members.get(COHORT, "u1").version()).isEqualTo(1);
        assertThat(Set.copyOf(state.deltas.snapshot())).singleElement()
                .extracting(Delta::member, Delta::version).containsExactly(true, 1L);
    }

    @Test
    void fullSync_recordsEachPage_andTheLastQueuesOneCountingJobPerShard_exitingNobodyItself() {
        add(List.of("gone-1", "gone-2", "kept"));

        SyncResult first = call(Action.MEMBERS, "Power users", "s1", 1, 2, List.of("kept"));
        SyncResult last = call(Action.MEMBERS, "Power users", "s1", 2, 2, List.of("new"));

        assertThat(first.session()).isEqualTo(SyncResult.SessionStatus.INCOMPLETE);
        assertThat(last.session()).isEqualTo(SyncResult.SessionStatus.RECONCILING);
        assertThat(state.jobs.waiting).filteredOn(j -> j.kind() == ReconcileJob.Kind.EXIT_COUNT).hasSize(Shards.COUNT);
        // The exit pass (and the mass-exit guard on its count) is the reconciler's: nobody exits here.
        assertThat(state.members.memberIds(COHORT)).containsExactlyInAnyOrder("gone-1", "gone-2", "kept", "new");
    }

    @Test
    void replayedLastPage_isAlreadyDecided_andQueuesNothingMore() {
        call(Action.MEMBERS, "Power users", "s1", 1, 1, List.of("u1"));
        long jobs = state.jobs.sent;

        SyncResult again = call(Action.MEMBERS, "Power users", "s1", 1, 1, List.of("u1"));

        assertThat(again.session()).isEqualTo(SyncResult.SessionStatus.ALREADY_DECIDED);
        assertThat(state.jobs.sent).isEqualTo(jobs);
        assertThat(state.deltas.snapshot()).hasSize(1);
    }

    @Test
    void rename_costsTheCallO1_storingTheNameAndQueuingOneRenameJobPerShard() {
        add(List.of("u1", "u2"));

        SyncResult r = call(Action.ADD_MEMBERS, "Power users (30d)", null, 1, 1, List.of("u3"));

        assertThat(r.renamed()).isEqualTo(2);
        assertThat(state.cohorts.load(COHORT).orElseThrow().name()).isEqualTo("Power users (30d)");
        assertThat(state.jobs.waiting).filteredOn(j -> j.kind() == ReconcileJob.Kind.RENAME).hasSize(Shards.COUNT);
        assertThat(state.deltas.snapshot().getLast()).extracting(Delta::distinctId, Delta::cohortName)
                .containsExactly("u3", "Power users (30d)");
    }

    @Test
    void legacyLayout_answersMigrationPending_andQueuesTheMigration() {
        state.members.putLegacy(COHORT, "u1", new Membership(true, 1));

        assertThatThrownBy(() -> add(List.of("u2"))).isInstanceOf(MigrationPendingException.class);
        assertThat(state.jobs.waiting).extracting(ReconcileJob::kind).containsExactly(ReconcileJob.Kind.MIGRATE);
        assertThat(state.cohorts.load(COHORT).orElseThrow().migrating()).isTrue();
        assertThat(state.deltas.snapshot()).isEmpty();
    }

    @Test
    void queueDown_failsRetryably_andCommitsNothing() {
        queue = deltas -> {
            throw new DependencyUnavailableException("SQS", "down", null);
        };

        assertThatThrownBy(() -> add(List.of("u1"))).isInstanceOf(DependencyUnavailableException.class);
        assertThat(state.members.get(COHORT, "u1")).isEqualTo(Membership.ABSENT);
    }

    @Test
    void lostRace_isReReadAndReDiffed_soTheWinnersChangeIsKept() {
        add(List.of("u0"));
        // Another request enters u1 between this call's read and its commit.
        queue = deltas -> {
            state.deltas.enqueue(deltas);
            if (deltas.stream().anyMatch(d -> d.distinctId().equals("u1")) && state.members.get(COHORT, "u1").version() == 0) {
                state.members.commit(COHORT, List.of(new Change("u1", Membership.ABSENT, new Membership(true, 1))));
            }
        };

        SyncResult r = add(List.of("u1"));

        assertThat(state.members.get(COHORT, "u1").version()).isEqualTo(1);
        assertThat(r.enters()).isZero();
        assertThat(r.unchanged()).isEqualTo(1);
        assertThat(state.members.memberIds(COHORT)).isEqualTo(Set.of("u0", "u1"));
    }
}
