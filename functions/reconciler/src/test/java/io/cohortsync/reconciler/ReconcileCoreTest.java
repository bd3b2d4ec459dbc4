package io.cohortsync.reconciler;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;
import io.cohortsync.reconcile.JobOutcome;
import io.cohortsync.reconcile.ReconcileConfig;
import io.cohortsync.sync.MassExitPolicy;
import io.cohortsync.sync.MigrationPendingException;
import io.cohortsync.sync.SyncResult;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static io.cohortsync.reconciler.Core.COHORT;
import static io.cohortsync.reconciler.Core.users;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rules of full syncs, renames and the reconciler, on both real cores over in-memory ports (no network). */
class ReconcileCoreTest {
    private static final String NAME = "Power users";

    @Test
    void lastPage_queuesTheExitPassInsteadOfDoingIt_andTheReconcilerExitsTheAbsent() {
        // given 30 members, then a full sync of 3 pages that lists 25 of them
        Core core = new Core();
        core.add(NAME, users("u", 0, 30));
        int deltasBefore = core.state.deltas.snapshot().size();

        // when the last page arrives
        SyncResult last = core.fullSync(NAME, "s1", users("u", 0, 25), 10);

        // then it exits nobody itself, queues one count job per shard, and the cohort's pass is pending
        assertThat(last.session()).isEqualTo(SyncResult.SessionStatus.RECONCILING);
        assertThat(last.exits()).isZero();
        assertThat(core.state.deltas.snapshot()).hasSize(deltasBefore);
        assertThat(core.state.jobs.waiting).hasSize(Shards.COUNT)
                .allMatch(j -> j.kind() == ReconcileJob.Kind.EXIT_COUNT && j.generation() == 1);
        assertThat(core.state.cohorts.load(COHORT).orElseThrow().reconciling()).isTrue();

        // when the reconciler runs
        core.drain();

        // then exactly the 5 absent members exited, once each, and the session is APPLIED
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 25));
        List<Delta> exits = core.state.deltas.snapshot().stream().filter(d -> !d.member()).toList();
        assertThat(exits).extracting(Delta::distinctId).containsExactlyInAnyOrderElementsOf(users("u", 25, 5));
        assertThat(core.state.sessions.outcome(new SessionKey(COHORT, "s1")).orElseThrow())
                .isEqualTo(new SessionOutcome(SessionOutcome.Status.APPLIED, 1, 30, 5));
        assertThat(core.state.cohorts.load(COHORT).orElseThrow().reconciling()).isFalse();
    }

    @Test
    void reconcile_givesTheSameResult_inTinyChunksAndPassesWithAContinuationPerChunk() {
        // given 2,000 members and a full sync listing 1,500 of them plus 100 new users
        List<String> listed = new ArrayList<>(users("u", 0, 1500));
        listed.addAll(users("new", 0, 100));
        Core big = new Core();
        Core tiny = new Core().withConfig(new ReconcileConfig(MassExitPolicy.DEFAULT, 7, 5, 1,
                Duration.ofSeconds(30), Duration.ofMinutes(15)));
        for (Core core : List.of(big, tiny)) {
            core.add(NAME, users("u", 0, 2000));
            core.fullSync(NAME, "s1", listed, 1000);
        }

        // when each reconciles (tiny: 5 items a chunk, 7 session ids a pass, one chunk per run)
        int bigRuns = big.drain();
        int tinyRuns = tiny.drain();

        // then both end with the same members, the tiny one through many checkpointed continuations
        assertThat(tiny.state.members.memberIds(COHORT)).isEqualTo(big.state.members.memberIds(COHORT))
                .containsExactlyInAnyOrderElementsOf(listed);
        assertThat(bigRuns).isEqualTo(2 * Shards.COUNT);
        assertThat(tinyRuns).isGreaterThan(bigRuns * 10);
        assertThat(tiny.outcomes).anyMatch(o -> o.status() == JobOutcome.Status.CONTINUED);
        // and each absent member exited exactly once (one version bump)
        users("u", 1500, 500).forEach(id ->
                assertThat(tiny.state.members.get(COHORT, id)).isEqualTo(big.state.members.get(COHORT, id)));
    }

    @Test
    void sessionOutcome_countsEachMemberOnce_whateverThePassSize() {
        // given the same 2,000 members and the same full sync, reconciled in one pass per shard and in
        // passes of 7 session ids (each later pass starts at the previous one's last id)
        List<String> listed = users("u", 0, 1500);
        Core big = new Core();
        Core tiny = new Core().withConfig(new ReconcileConfig(MassExitPolicy.DEFAULT, 7, 5, 0,
                Duration.ofSeconds(30), Duration.ofMinutes(15)));
        for (Core core : List.of(big, tiny)) {
            core.add(NAME, users("u", 0, 2000));
            core.fullSync(NAME, "s1", listed, 1000);
            core.drain();
        }

        // then both count 2,000 members and 500 exits
        SessionOutcome expected = new SessionOutcome(SessionOutcome.Status.APPLIED, 1, 2000, 500);
        assertThat(big.state.sessions.outcome(new SessionKey(COHORT, "s1"))).contains(expected);
        assertThat(tiny.state.sessions.outcome(new SessionKey(COHORT, "s1"))).contains(expected);
    }

    @Test
    void addDuringPendingReconcile_keepsTheUser_whoTheFullSyncDidNotList() {
        // given u was a member and a full sync without u completed; its pass has not run yet
        Core core = new Core();
        core.add(NAME, users("u", 0, 10));
        core.fullSync(NAME, "s1", users("u", 1, 9), 100);
        String u = users("u", 0, 1).get(0);

        // when Mixpanel's next diff lists u as entering (u came back) before the reconciler reaches u
        SyncResult add = core.add(NAME, List.of(u));
        core.drain();

        // then the add changed nothing but marked u, and the pass spared u: u ends a member
        assertThat(add.enters()).isZero();
        assertThat(add.marked()).isEqualTo(1);
        assertThat(core.state.members.get(COHORT, u).member()).isTrue();
        assertThat(core.lastDeltas().get(u).member()).isTrue();
    }

    @Test
    void markLandingBetweenTheReconcilersReadAndItsWrite_wins() {
        // given a store that lets a request mark u right before the reconciler's exit write for u lands
        String u = users("u", 0, 1).get(0);
        AtomicInteger marksInjected = new AtomicInteger();
        Core[] holder = new Core[1];
        Core core = new Core().withStore(real -> new DelegatingStore(real) {
            @Override
            public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
                if (marksInjected.getAndIncrement() == 0 && changes.stream().anyMatch(c -> c.distinctId().equals(u))) {
                    holder[0].add(NAME, List.of(u)); // the racing add_members, through the real webhook core
                }
                return super.commitUnlisted(cohort, changes, unlistedBefore);
            }
        });
        holder[0] = core;
        core.add(NAME, users("u", 0, 3));
        core.fullSync(NAME, "s1", users("u", 1, 2), 100);

        // when the reconciler runs into the race
        core.drain();

        // then u is still a member (the conditional write saw the mark) and no exit of u was committed
        assertThat(core.state.members.get(COHORT, u).member()).isTrue();
        assertThat(core.state.members.get(COHORT, u).version()).isEqualTo(1);
    }

    @Test
    void massExit_isHeld_afterCountingEveryShard_andNothingExits() {
        // given 2,000 members and a broken full sync that lists only 100
        Core core = new Core();
        core.add(NAME, users("u", 0, 2000));
        core.fullSync(NAME, "s1", users("u", 0, 100), 1000);

        // when the reconciler runs
        core.drain();

        // then the session is held with its counts, nobody exited, no apply job ever ran
        assertThat(core.state.members.memberIds(COHORT)).hasSize(2000);
        assertThat(core.state.sessions.outcome(new SessionKey(COHORT, "s1")).orElseThrow())
                .isEqualTo(new SessionOutcome(SessionOutcome.Status.HELD, 1, 2000, 1900));
        assertThat(core.outcomes).noneMatch(o -> o.changed() > 0);
        assertThat(core.state.cohorts.load(COHORT).orElseThrow().reconciling()).isFalse();
    }

    @Test
    void crashMidApply_resumesFromTheCheckpoint_andExitsEachAbsentMemberOnce() {
        // given the third exit write of the pass fails (the function dies), after its deltas were queued
        AtomicInteger commits = new AtomicInteger();
        Core core = new Core().withConfig(new ReconcileConfig(MassExitPolicy.DEFAULT, 50, 10, 0,
                Duration.ofSeconds(30), Duration.ofMinutes(15))).withStore(real -> new DelegatingStore(real) {
            @Override
            public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
                if (commits.incrementAndGet() == 3) {
                    throw new IllegalStateException("the function died");
                }
                return super.commitUnlisted(cohort, changes, unlistedBefore);
            }
        });
        core.add(NAME, users("u", 0, 400));
        core.fullSync(NAME, "s1", users("u", 0, 300), 1000);

        // when the job that dies is run again (SQS redelivers what was not acknowledged)
        List<ReconcileJob> failed = new ArrayList<>();
        for (ReconcileJob job; (job = core.state.jobs.poll()) != null; ) {
            try {
                core.outcomes.add(core.reconciler().run(job, core.clock.instant().plusSeconds(3600)));
            } catch (IllegalStateException e) {
                failed.add(job);
            }
        }
        assertThat(failed).hasSize(1);
        core.state.jobs.enqueue(failed);
        core.drain();

        // then the absent 100 exited exactly once each (version 2), everyone else is untouched
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 300));
        users("u", 300, 100).forEach(id -> assertThat(core.state.members.get(COHORT, id).version()).isEqualTo(2));
        assertThat(core.state.sessions.outcome(new SessionKey(COHORT, "s1")).orElseThrow().status())
                .isEqualTo(SessionOutcome.Status.APPLIED);
    }

    @Test
    void duplicateJobs_haveNoSecondEffect() {
        // given every job message delivered twice
        Core core = new Core();
        core.add(NAME, users("u", 0, 100));
        core.fullSync(NAME, "s1", users("u", 0, 80), 1000);
        List<ReconcileJob> copies = List.copyOf(core.state.jobs.waiting);
        core.state.jobs.enqueue(copies);

        // when all run (and the apply jobs' copies too)
        core.drain();
        core.state.jobs.enqueue(ReconcileJob.perShard(ReconcileJob.Kind.EXIT_APPLY, COHORT, 1, "s1", core.clock.instant()));
        core.drain();

        // then 20 exits, each one version up, and 20 exit deltas
        assertThat(core.state.members.memberIds(COHORT)).hasSize(80);
        assertThat(core.state.deltas.snapshot().stream().filter(d -> !d.member()).count()).isEqualTo(20);
        assertThat(core.outcomes).anyMatch(o -> o.status() == JobOutcome.Status.ALREADY_DONE);
    }

    @Test
    void rename_costsTheRequestO1_andTheReconcilerAnnouncesEachMemberOnce_evenWhenJobsRunTwice() {
        // given 500 members under the old name
        Core core = new Core();
        core.add("Old", users("u", 0, 500));
        core.remove("Old", users("u", 400, 100));
        int before = core.state.deltas.snapshot().size();

        // when a diff arrives under the new name
        SyncResult r = core.add("New", List.of());

        // then the request stored the name version and queued one job per shard, and announced nobody
        assertThat(r.renamed()).isEqualTo(2);
        assertThat(core.state.deltas.snapshot()).hasSize(before);
        assertThat(core.state.cohorts.load(COHORT).orElseThrow().name()).isEqualTo("New");
        List<ReconcileJob> jobs = List.copyOf(core.state.jobs.waiting);
        assertThat(jobs).hasSize(Shards.COUNT).allMatch(j -> j.kind() == ReconcileJob.Kind.RENAME);

        // when the reconciler runs, then runs every job again
        core.drain();
        core.state.jobs.enqueue(jobs);
        core.drain();

        // then each of the 400 members was announced once: {Old: false, New: true}
        List<Delta> announced = core.state.deltas.snapshot().subList(before, core.state.deltas.snapshot().size());
        assertThat(announced).hasSize(400).allMatch(d -> d.member() && "Old".equals(d.previousName())
                && "New".equals(d.cohortName()));
        assertThat(announced.stream().map(Delta::distinctId).collect(Collectors.toSet())).hasSize(400);
    }

    @Test
    void removeDuringARename_endsWithBothTraitsFalse() {
        // given a rename whose jobs have not run
        Core core = new Core();
        core.add("Old", users("u", 0, 10));
        core.add("New", List.of());
        String u = users("u", 0, 1).get(0);

        // when u is removed before the reconciler reaches u, then the rename runs
        core.remove("New", List.of(u));
        core.drain();

        // then u's exit carried false for the old name too, and the rename did not re-announce u
        Delta last = core.lastDeltas().get(u);
        assertThat(last.member()).isFalse();
        assertThat(last.previousName()).isEqualTo("Old");
        assertThat(core.state.deltas.snapshot().stream().filter(d -> d.distinctId().equals(u) && d.member()
                && "New".equals(d.cohortName()))).isEmpty();
    }

    @Test
    void changeBeforeTheRenameReachedTheMember_namesTheOldName_soTheSenderCanClearItEvenIfOvertaken() {
        // given members under Old, renamed to New; u exits, then comes back, before the reconciler ran
        Core core = new Core();
        core.add("Old", users("u", 0, 3));
        core.add("New", List.of());
        String u = users("u", 0, 1).get(0);
        core.remove("New", List.of(u));
        core.add("New", List.of(u));
        core.drain();

        // then the exit (which the later enter may overtake, making it stale) names Old: the sender then
        // sends {Old: false} on its own; the rename does not announce u again (u's last change is under New)
        List<Delta> ofU = core.state.deltas.snapshot().stream().filter(d -> d.distinctId().equals(u)).toList();
        assertThat(ofU).extracting(Delta::member, Delta::version, Delta::cohortName, Delta::previousName)
                .containsExactly(Tuple.tuple(true, 1L, "Old", null),
                        Tuple.tuple(false, 2L, "New", "Old"),
                        Tuple.tuple(true, 3L, "New", null));
    }

    @Test
    void renameSupersededByANewerRename_announcesOnceUnderTheNewest_withTheOldestNameFalse() {
        // given A → B → C before any rename job ran
        Core core = new Core();
        core.add("A", users("u", 0, 20));
        core.add("B", List.of());
        core.add("C", List.of());
        int before = core.state.deltas.snapshot().size();

        core.drain();

        // then the B jobs stopped as superseded, and each member got {A: false, C: true} once
        List<Delta> announced = core.state.deltas.snapshot().subList(before, core.state.deltas.snapshot().size());
        assertThat(announced).hasSize(20).allMatch(d -> "C".equals(d.cohortName()) && "A".equals(d.previousName()));
        assertThat(core.outcomes).anyMatch(o -> o.status() == JobOutcome.Status.SUPERSEDED);
    }

    @Test
    void oldLayout_answersRetryableWhileTheReconcilerMigratesIt_thenSyncsNormally() {
        // given a cohort stored by an earlier version in one partition
        Core core = new Core();
        for (String id : users("u", 0, 50)) {
            core.state.members.putLegacy(COHORT, id, new Membership(true, 3));
        }

        // when Mixpanel sends a diff: it is asked to retry, and a migration is queued
        assertThatThrownBy(() -> core.add(NAME, users("u", 0, 1))).isInstanceOf(MigrationPendingException.class);
        assertThatThrownBy(() -> core.add(NAME, users("u", 0, 1))).isInstanceOf(MigrationPendingException.class);
        core.drain();

        // then every item moved into its shard with its version, and the retry finds nothing to change
        assertThat(core.state.members.hasLegacyState(COHORT)).isFalse();
        assertThat(core.state.members.memberIds(COHORT)).hasSize(50);
        assertThat(core.state.members.get(COHORT, users("u", 0, 1).get(0))).isEqualTo(new Membership(true, 3, null, 1, 0));
        SyncResult retry = core.add(NAME, users("u", 0, 1));
        assertThat(retry.enters()).isZero();
        // and a later full sync exits the migrated members it does not list
        core.fullSync(NAME, "s1", users("u", 0, 40), 1000);
        core.drain();
        assertThat(core.state.members.memberIds(COHORT)).hasSize(40);
    }

    @Test
    void olderSessionsPass_stopsAsSuperseded_whenANewerSessionCompletes() {
        // given two full syncs complete before any reconcile job runs
        Core core = new Core();
        core.add(NAME, users("u", 0, 30));
        core.fullSync(NAME, "s1", users("u", 0, 20), 100);
        core.fullSync(NAME, "s2", users("u", 0, 25), 100);

        core.drain();

        // then the newer session decides: u20..u24 stay, u25..u29 exit; the older session's jobs stopped
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 25));
        assertThat(core.outcomes.stream().filter(o -> o.status() == JobOutcome.Status.SUPERSEDED).count())
                .isEqualTo(Shards.COUNT);
        assertThat(core.state.cohorts.load(COHORT).orElseThrow().epoch()).isEqualTo(2);
    }

    @Test
    void jobThatLosesTheCheckpointRace_queuesADelayedCopy_soTheWinnersFailureCannotLoseTheJob() {
        // given a count job whose first chunk is overtaken by another copy of the same job (SQS delivering one
        // message twice: the loser's acknowledgement deletes it for both)
        Core core = new Core();
        core.add(NAME, users("u", 0, 40));
        core.fullSync(NAME, "s1", users("u", 0, 30), 1000);
        ReconcileJob job = core.state.jobs.poll();
        boolean[] raced = {false};
        core.withStore(real -> new DelegatingStore(real) {
            @Override
            public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
                if (!raced[0]) {
                    raced[0] = true;
                    core.outcomes.add(core.reconciler().run(job, core.clock.instant().plusSeconds(3600)));
                }
                return super.scan(cohort, shard, from, to, cursor, limit);
            }
        });
        long delayedBefore = core.state.jobs.delayed;

        // when the overtaken copy finishes its chunk
        JobOutcome loser = core.reconciler().run(job, core.clock.instant().plusSeconds(3600));

        // then it lost the race, and a delayed copy of the job is queued to look again
        assertThat(core.outcomes).singleElement().extracting(JobOutcome::status).isEqualTo(JobOutcome.Status.DONE);
        assertThat(loser.status()).isEqualTo(JobOutcome.Status.LOST_RACE);
        assertThat(core.state.jobs.delayed).isEqualTo(delayedBefore + 1);
        assertThat(core.state.jobs.waiting).contains(job);
        // and the pass still ends with exactly the 10 absent members out
        core.drain();
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 30));
    }

    @Test
    void migrationJobAheadOfTheMigrationsStart_waits_insteadOfCallingItDone() {
        // given old state, and a MIGRATE job that runs before its request recorded the migration's start
        Core core = new Core();
        for (String id : users("u", 0, 5)) {
            core.state.members.putLegacy(COHORT, id, new Membership(true, 1));
        }
        ReconcileJob early = new ReconcileJob(ReconcileJob.Kind.MIGRATE, COHORT, 0, null, 0, core.clock.instant());

        // when it runs
        JobOutcome outcome = core.reconciler().run(early, core.clock.instant().plusSeconds(60));

        // then it waits (queued again with a delay) instead of being acknowledged as done
        assertThat(outcome.status()).isEqualTo(JobOutcome.Status.WAITING);
        assertThat(core.state.jobs.delayed).isEqualTo(1);
        assertThat(core.state.members.hasLegacyState(COHORT)).isTrue();
    }

    @Test
    void exitThatLosesARaceToARename_isReJudgedUnderTheNewName_soNoTraitStaysTrue() {
        // given 20 members under the first name, and a full sync listing 10 of them
        Core core = new Core();
        core.add(NAME, users("u", 0, 20));
        core.fullSync(NAME, "s1", users("u", 0, 10), 1000);
        // and, just before the exit pass's first write, the cohort is renamed and that shard's rename job
        // announces its members under the new name (so the pending exits lose their conditional write)
        boolean[] renamed = {false};
        core.withStore(real -> new DelegatingStore(real) {
            @Override
            public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
                if (!renamed[0]) {
                    renamed[0] = true;
                    core.add("Renamed", List.of());
                    int shard = Shards.of(changes.get(0).distinctId());
                    core.reconciler().run(new ReconcileJob(ReconcileJob.Kind.RENAME, COHORT, 2, null, shard,
                            core.clock.instant()), core.clock.instant().plusSeconds(3600));
                }
                return super.commitUnlisted(cohort, changes, unlistedBefore);
            }
        });

        // when everything runs
        core.drain();

        // then the 10 absent members are out, and every trait they were ever given is false at the end
        // (what Segment holds once each user's deltas are sent in version order); members hold the new name
        assertThat(renamed[0]).isTrue();
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 10));
        Map<String, Map<String, Boolean>> traits = finalTraits(core.state.deltas.snapshot());
        users("u", 10, 10).forEach(id -> assertThat(traits.get(id)).as(id).doesNotContainValue(true));
        users("u", 0, 10).forEach(id -> assertThat(traits.get(id)).as(id)
                .containsEntry("Renamed", true).doesNotContainEntry(NAME, true));
    }

    @Test
    void diffWhoseWriteLandsAfterTheCompletionAndTheExitPass_isReChecked_andTheUserExits() {
        // given 20 members; a plain diff queues no job at all
        Core core = new Core();
        core.add(NAME, users("u", 0, 20));
        assertThat(core.state.jobs.waiting).isEmpty();
        // and a diff adding a new user that reads the cohort, then stalls before its write while a full sync
        // that does not list that user completes and its whole exit pass runs (Mixpanel moved on)
        List<String> late = users("late", 0, 1);
        boolean[] raced = stallBeforeWriting(core, late.get(0), () -> {
            core.fullSync(NAME, "s1", users("u", 0, 20), 1000);
            core.drain();
        });

        // when the stalled diff commits, and the reconciler runs what it queued
        SyncResult diff = core.add(NAME, late);
        assertThat(diff.enters()).isEqualTo(1);
        assertThat(core.state.jobs.waiting).singleElement().satisfies(j -> {
            assertThat(j.kind()).isEqualTo(ReconcileJob.Kind.RECHECK);
            assertThat(j.ids()).containsExactlyElementsOf(late);
            assertThat(j.generation()).isEqualTo(1);
            assertThat(j.sessionId()).isEqualTo("s1");
        });
        core.drain();

        // then the user ends out, as if the diff had landed before the completion; the listed stay in
        assertThat(raced[0]).isTrue();
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 20));
        assertThat(core.lastDeltas().get(late.get(0)).member()).isFalse();
    }

    @Test
    void diffWhoseWriteLandsAfterTheRenameJobPassedTheUser_isReAnnouncedUnderTheNewName() {
        // given 10 members, and a diff adding a new user that stalls before its write while the cohort is
        // renamed and every rename job runs
        Core core = new Core();
        core.add(NAME, users("u", 0, 10));
        List<String> late = users("late", 0, 1);
        boolean[] raced = stallBeforeWriting(core, late.get(0), () -> {
            core.add("Renamed", List.of());
            core.drain();
        });

        // when the stalled diff commits (under the name it read), and the reconciler runs what it queued
        core.add(NAME, late);
        core.drain();

        // then the late user holds the new name's true and the old name's false, like every other member
        assertThat(raced[0]).isTrue();
        Map<String, Map<String, Boolean>> traits = finalTraits(core.state.deltas.snapshot());
        assertThat(traits.get(late.get(0))).containsEntry("Renamed", true).containsEntry(NAME, false);
        users("u", 0, 10).forEach(id -> assertThat(traits.get(id)).containsEntry("Renamed", true)
                .containsEntry(NAME, false));
    }

    @Test
    void lateDiffAfterAHeldPass_exitsNobody() {
        // given 20 members and a late diff that straddles a full sync listing only 2 of them (a mass exit,
        // under a guard that holds any pass exiting more than half of 10 or more members)
        Core core = new Core().withConfig(new ReconcileConfig(new MassExitPolicy(0.5, 10), 50_000, 1_000, 0,
                Duration.ofSeconds(30), Duration.ofMinutes(15)));
        core.add(NAME, users("u", 0, 20));
        List<String> late = users("late", 0, 1);
        boolean[] raced = stallBeforeWriting(core, late.get(0), () -> {
            core.fullSync(NAME, "s1", users("u", 0, 2), 1000);
            core.drain();
        });

        // when the late diff commits and its re-check runs
        core.add(NAME, late);
        core.drain();

        // then the pass is held and the re-check exits nobody either
        assertThat(raced[0]).isTrue();
        assertThat(core.state.sessions.outcome(new SessionKey(COHORT, "s1")).orElseThrow().status())
                .isEqualTo(SessionOutcome.Status.HELD);
        assertThat(core.state.members.memberIds(COHORT)).hasSize(21);
    }

    /**
     * Makes the request that writes {@code lateId} stall just before its write while {@code meanwhile}
     * runs (Mixpanel gave up on it and moved on). @return set once the stall has happened
     */
    private static boolean[] stallBeforeWriting(Core core, String lateId, Runnable meanwhile) {
        boolean[] raced = {false};
        core.withStore(real -> new DelegatingStore(real) {
            @Override
            public Set<String> commit(CohortRef cohort, List<Change> changes) {
                if (!raced[0] && changes.get(0).distinctId().equals(lateId)) {
                    raced[0] = true;
                    meanwhile.run();
                }
                return super.commit(cohort, changes);
            }
        });
        return raced;
    }

    /** Each user's traits after their deltas are applied in version order (an identify sets its name, clears the previous). */
    private static Map<String, Map<String, Boolean>> finalTraits(List<Delta> deltas) {
        Map<String, Map<String, Boolean>> traits = new HashMap<>();
        deltas.stream().sorted(Comparator.comparingLong(Delta::version)).forEach(d -> {
            Map<String, Boolean> t = traits.computeIfAbsent(d.distinctId(), k -> new HashMap<>());
            if (d.previousName() != null) {
                t.put(d.previousName(), false);
            }
            t.put(d.cohortName(), d.member());
        });
        return traits;
    }

    @Test
    void jobAheadOfItsCommit_waits_andIsDroppedOnceItsCommitCanNoLongerCome() {
        // given a count job for an epoch the cohort never reached (its request died before the commit)
        Core core = new Core();
        core.add(NAME, users("u", 0, 5));
        ReconcileJob orphan = new ReconcileJob(ReconcileJob.Kind.EXIT_COUNT, COHORT, 1, "lost", 0, core.clock.instant());

        // when it runs now, and again 16 minutes later
        JobOutcome first = core.reconciler().run(orphan, core.clock.instant().plusSeconds(60));
        core.clock.advance(Duration.ofMinutes(16));
        JobOutcome later = core.reconciler().run(orphan, core.clock.instant().plusSeconds(60));

        // then it first waits (queued again with a delay), then is dropped; nobody exited
        assertThat(first.status()).isEqualTo(JobOutcome.Status.WAITING);
        assertThat(core.state.jobs.delayed).isEqualTo(1);
        assertThat(later.status()).isEqualTo(JobOutcome.Status.NEVER_COMMITTED);
        assertThat(core.state.members.memberIds(COHORT)).hasSize(5);
    }

    @Test
    void exitPassJob_olderThanHalfTheSessionTtl_isDroppedUnrun_soExpiringReceiptsNeverCauseExits() {
        // given a completed session whose count jobs were redelivered 37 hours later (receipts last 72 h)
        Core core = new Core();
        core.add(NAME, users("u", 0, 10));
        core.fullSync(NAME, "s1", users("u", 0, 9), 100);
        core.clock.advance(Duration.ofHours(37));

        core.drain();

        // then every job was dropped as expired and nobody exited
        assertThat(core.outcomes).hasSize(Shards.COUNT).allMatch(o -> o.status() == JobOutcome.Status.EXPIRED);
        assertThat(core.state.members.memberIds(COHORT)).hasSize(10);
    }

    @Test
    void requestsWhileMigrating_queueTheMigrationAgain_soALostJobCannotWedgeTheCohort() {
        Core core = new Core();
        core.state.members.putLegacy(COHORT, "a@example.com", new Membership(true, 1));
        assertThatThrownBy(() -> core.add(NAME, List.of("a@example.com"))).isInstanceOf(MigrationPendingException.class);
        core.state.jobs.waiting.clear(); // the MIGRATE job is lost

        assertThatThrownBy(() -> core.add(NAME, List.of("a@example.com"))).isInstanceOf(MigrationPendingException.class);
        core.drain();

        assertThat(core.state.members.hasLegacyState(COHORT)).isFalse();
        assertThat(core.add(NAME, List.of("a@example.com")).enters()).isZero();
    }

    @Test
    void replayOfTheLastPage_afterCompletion_isAlreadyDecided_andQueuesNothing() {
        Core core = new Core();
        core.add(NAME, users("u", 0, 10));
        core.fullSync(NAME, "s1", users("u", 0, 10), 5);
        core.drain();
        long sent = core.state.jobs.sent;

        SyncResult replay = core.page(NAME, "s1", 2, 2, users("u", 5, 5));

        assertThat(replay.session()).isEqualTo(SyncResult.SessionStatus.ALREADY_DECIDED);
        assertThat(core.state.jobs.sent).isEqualTo(sent);
    }

    @Test
    void replayOfAPageOfAnIncompleteSession_writesNothingAgain() {
        // given page 1 of 3 recorded
        Core core = new Core();
        core.page(NAME, "s1", 1, 3, users("u", 0, 10));
        long writes = core.state.members.writes;

        // when Mixpanel retries it
        SyncResult replay = core.page(NAME, "s1", 1, 3, users("u", 0, 10));

        // then it is still one page of three: no membership write, no second receipt
        assertThat(replay.session()).isEqualTo(SyncResult.SessionStatus.INCOMPLETE);
        assertThat(replay.pagesReceived()).isEqualTo(1);
        assertThat(core.state.members.writes).isEqualTo(writes);
        assertThat(core.state.sessions.pagesRecorded(new SessionKey(COHORT, "s1"))).isEqualTo(1);
    }

    @Test
    void singlePageExportWithoutSessionId_isReconciledToo() {
        Core core = new Core();
        core.add(NAME, users("u", 0, 10));

        SyncResult r = core.page(NAME, null, 1, 1, users("u", 0, 8));
        core.drain();

        assertThat(r.session()).isEqualTo(SyncResult.SessionStatus.RECONCILING);
        assertThat(core.state.members.memberIds(COHORT)).hasSize(8);
    }

    @Test
    void retriedPageOfThePendingSession_marksNobody_sinceItsUsersCanNeverExit() {
        Core core = new Core();
        core.add(NAME, users("u", 0, 20));
        core.fullSync(NAME, "s1", users("u", 0, 15), 10);
        long writes = core.state.members.writes;

        SyncResult retry = core.page(NAME, "s1", 2, 2, users("u", 10, 5));

        assertThat(retry.marked()).isZero();
        assertThat(core.state.members.writes).isEqualTo(writes);
    }

    @Test
    void unchangedMembers_costNoWrite_whenNoReconcileIsPending() {
        Core core = new Core();
        core.add(NAME, users("u", 0, 100));
        long writes = core.state.members.writes;

        SyncResult again = core.add(NAME, users("u", 0, 100));

        assertThat(again.marked()).isZero();
        assertThat(core.state.members.writes).isEqualTo(writes);
    }

    @Test
    void replayedPages_recordNothingAgain_andQueueNothing() {
        // given a 2-page full sync that completed and was reconciled, with every page recording counted
        AtomicInteger recorded = new AtomicInteger();
        Core core = new Core().withSessions(real -> new DelegatingSessions(real) {
            @Override
            public int recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
                recorded.incrementAndGet();
                return super.recordPage(session, page, totalPages, ids);
            }
        });
        core.add(NAME, users("u", 0, 10));
        core.fullSync(NAME, "s1", users("u", 0, 10), 5);
        core.page(NAME, "one", 1, 1, users("u", 0, 10));
        core.drain();
        assertThat(recorded).hasValue(3);
        long writes = core.state.members.writes;
        long jobs = core.state.jobs.sent;

        // when Mixpanel sends every page again (a retry, a restart from the top)
        List<SyncResult> replays = List.of(core.page(NAME, "s1", 1, 2, users("u", 0, 5)),
                core.page(NAME, "s1", 2, 2, users("u", 5, 5)), core.page(NAME, "one", 1, 1, users("u", 0, 10)));

        // then no page is recorded again, nothing is written or queued, and each replay is already decided
        assertThat(recorded).hasValue(3);
        assertThat(core.state.members.writes).isEqualTo(writes);
        assertThat(core.state.jobs.sent).isEqualTo(jobs);
        assertThat(replays).allSatisfy(r ->
                assertThat(r.session()).isEqualTo(SyncResult.SessionStatus.ALREADY_DECIDED));
    }

    @Test
    void twoLastPagesRecordedAtOnce_completeTheSession_whicheverIsCountedLast() {
        // given page 2 of 2 arriving while page 1 is being recorded (two requests at the same time)
        Core[] holder = new Core[1];
        AtomicInteger injected = new AtomicInteger();
        Core core = new Core().withSessions(real -> new DelegatingSessions(real) {
            @Override
            public int recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
                if (page == 1 && injected.getAndIncrement() == 0) {
                    // the racing request for page 2 runs to its end before page 1's receipt lands
                    assertThat(holder[0].page(NAME, "s1", 2, 2, users("u", 5, 5)).session())
                            .isEqualTo(SyncResult.SessionStatus.INCOMPLETE);
                }
                return super.recordPage(session, page, totalPages, ids);
            }
        });
        holder[0] = core;
        core.add(NAME, users("u", 0, 12));

        // when page 1's request finishes
        SyncResult first = core.page(NAME, "s1", 1, 2, users("u", 0, 5));

        // then it counted both pages and completed the session: the exit pass runs
        assertThat(injected).hasValue(1);
        assertThat(first.session()).isEqualTo(SyncResult.SessionStatus.RECONCILING);
        core.drain();
        assertThat(core.state.members.memberIds(COHORT)).containsExactlyInAnyOrderElementsOf(users("u", 0, 10));
    }

    /** Passes every call through; tests override the one they watch or inject a fault into. */
    static class DelegatingSessions implements SessionStore {
        private final SessionStore real;

        DelegatingSessions(SessionStore real) {
            this.real = real;
        }

        @Override
        public int recordPage(SessionKey session, int page, int totalPages, Set<String> ids) {
            return real.recordPage(session, page, totalPages, ids);
        }

        @Override
        public OptionalInt pagesIfRecorded(SessionKey session, int page) {
            return real.pagesIfRecorded(session, page);
        }

        @Override
        public void forEachExportedId(SessionKey session, int shard, Consumer<String> each) {
            real.forEachExportedId(session, shard, each);
        }

        @Override
        public Optional<SessionOutcome> outcome(SessionKey session) {
            return real.outcome(session);
        }

        @Override
        public void recordOutcome(SessionKey session, SessionOutcome outcome) {
            real.recordOutcome(session, outcome);
        }
    }

    /** Passes every call through; tests override the one they inject a fault into. */
    static class DelegatingStore implements MembershipStore {
        private final MembershipStore real;

        DelegatingStore(MembershipStore real) {
            this.real = real;
        }

        @Override
        public Map<String, Membership> read(CohortRef cohort, Collection<String> ids, boolean consistent) {
            return real.read(cohort, ids, consistent);
        }

        @Override
        public Set<String> commit(CohortRef cohort, List<Change> changes) {
            return real.commit(cohort, changes);
        }

        @Override
        public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
            return real.commitUnlisted(cohort, changes, unlistedBefore);
        }

        @Override
        public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
            return real.mark(cohort, unchanged, epoch);
        }

        @Override
        public ScanPage scan(CohortRef cohort, int shard, String from, String to, String cursor, int limit) {
            return real.scan(cohort, shard, from, to, cursor, limit);
        }

        @Override
        public boolean hasLegacyState(CohortRef cohort) {
            return real.hasLegacyState(cohort);
        }

        @Override
        public int migrateLegacy(CohortRef cohort, int limit) {
            return real.migrateLegacy(cohort, limit);
        }
    }

    @SuppressWarnings("unused")
    private static CohortState state(Core core) {
        return core.state.cohorts.load(COHORT).orElseThrow();
    }
}
