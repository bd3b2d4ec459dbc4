package io.cohortsync.send;

import io.cohortsync.segment.SegmentCalls;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.WriteKeySource;
import io.cohortsync.testkit.InMemoryState;
import io.cohortsync.testkit.MutableClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sender's rules on testkit's in-memory ports, no network: every verdict, every Segment answer and
 * every acknowledgement rule, read from the {@link SendOutcome} the core returns.
 */
class SenderCoreTest {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final String PREFIX = "Mixpanel - ";
    private static final Duration NEVER_AFTER = Duration.ofSeconds(900);
    private static final Duration AHEAD_DELAY = Duration.ofSeconds(15);

    private final InMemoryState state = new InMemoryState();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));
    private final List<Duration> waits = new ArrayList<>();
    /** Runs during every wait before a Segment retry (a newer change landing meanwhile). */
    private Consumer<Duration> duringWait = d -> { };
    private boolean dryRun;
    private SegmentCalls calls = SegmentCalls.IDENTIFY;

    private SenderCore core() {
        WriteKeySource key = new WriteKeySource() {
            @Override
            public String current() {
                return "wk";
            }

            @Override
            public void refresh() {
            }
        };
        SegmentDelivery delivery = new SegmentDelivery(state.segment, key, Duration.ofSeconds(10), clock, d -> {
            waits.add(d);
            clock.advance(d);
            duringWait.accept(d);
        }, () -> new SplittableRandom(7));
        return new SenderCore(new SendSettings(PREFIX, null, NEVER_AFTER, AHEAD_DELAY, dryRun, calls), state.members,
                state.cohorts, state.deltas, state.deadLetters, connection -> delivery, clock);
    }

    private SendOutcome handle(QueuedRecord... records) {
        return core().handle(List.of(records), clock.instant().plusSeconds(55));
    }

    private static QueuedRecord record(String id, Delta... deltas) {
        return new QueuedRecord(id, DeltaCodec.encode(List.of(deltas), DeltaQueue.MAX_MESSAGE_BYTES).getFirst(), 1);
    }

    private Delta delta(String user, boolean member, long version) {
        return new Delta(COHORT, "Power users", user, member, version, clock.instant().minusSeconds(2));
    }

    /** Stores {@code m} for {@code user} as the webhook's commits would, one version at a time. */
    private void store(String user, Membership m) {
        for (Membership before = state.members.get(COHORT, user); before.version() < m.version();
             before = state.members.get(COHORT, user)) {
            boolean last = (m.version() - before.version()) % 2 == 1; // each commit flips membership
            Membership next = new Membership(last == m.member(), before.version() + 1);
            assertThat(state.members.commit(COHORT, List.of(new Change(user, before, next)))).isEmpty();
        }
    }

    private Delta committed(String user, boolean member, long version) {
        store(user, new Membership(member, version));
        return delta(user, member, version);
    }

    private Map<String, Object> traits(String user) {
        return state.segment.profiles().getOrDefault(user, Map.of());
    }

    // --- verdicts ---

    @Test
    void send_aDeltaEqualToTheTable_isSentAndItsRecordAcknowledged() {
        SendOutcome o = handle(record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(traits("u1")).containsEntry(PREFIX + "Power users", true);
        assertThat(o.sent()).isEqualTo(1);
        assertThat(o.lagMs()).isEqualTo(2_000);
        assertThat(o.deliveredByCall()).hasSize(1);
    }

    @Test
    void stale_aNewerVersionInTheTable_isDroppedUnsent_andAcknowledged() {
        Delta old = delta("u1", true, 1);
        store("u1", new Membership(false, 2));

        SendOutcome o = handle(record("m1", old));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.fates()).containsEntry(old, new DeltaFate.Dropped(Verdict.STALE));
        assertThat(o.stale()).isEqualTo(1);
        assertThat(state.segment.requests).isZero();
    }

    @Test
    void stale_sameVersionOtherMembership_isDroppedUnsent() {
        Delta other = delta("u1", false, 1);
        store("u1", new Membership(true, 1));

        SendOutcome o = handle(record("m1", other));

        assertThat(o.fates()).containsEntry(other, new DeltaFate.Dropped(Verdict.STALE));
        assertThat(state.segment.requests).isZero();
    }

    @Test
    void notYetCommitted_isRequeuedWithTheRetryDelay_andAcknowledged() {
        Delta ahead = delta("u1", true, 1);

        SendOutcome o = handle(record("m1", ahead));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(state.deltas.delayed).containsExactly(ahead);
        assertThat(state.deltas.delays).containsExactly(AHEAD_DELAY);
        assertThat(o.requeued()).isEqualTo(1);
        assertThat(state.segment.requests).isZero();
    }

    @Test
    void neverCommitted_aheadForLongerThanACommitCouldCome_isDroppedNotRequeued() {
        Delta ghost = new Delta(COHORT, "Power users", "u1", true, 1, clock.instant().minus(NEVER_AFTER).minusSeconds(1));

        SendOutcome o = handle(record("m1", ghost));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.fates()).containsEntry(ghost, new DeltaFate.Dropped(Verdict.NEVER_COMMITTED));
        assertThat(state.deltas.delayed).isEmpty();
    }

    @Test
    void duplicateDeltaOnTwoRecords_isSentOnce_andBothRecordsAcknowledged() {
        Delta d = committed("u1", true, 1);

        SendOutcome o = handle(record("m1", d), record("m2", d));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.duplicates()).isEqualTo(1);
        assertThat(state.segment.accepted).hasSize(1);
    }

    // --- SEGMENT_CALLS ---

    @Test
    void identifyAndTrack_aChangeIsTwoMessages_bothSent_andCountedApart() {
        calls = SegmentCalls.IDENTIFY_AND_TRACK;

        SendOutcome o = handle(record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.sent()).isEqualTo(2);
        assertThat(o.tracksSent()).isEqualTo(1);
        assertThat(o.messages()).extracting(SentMessage::track).containsExactlyInAnyOrder(true, false);
        assertThat(traits("u1")).containsEntry(PREFIX + "Power users", true);
    }

    @Test
    void trackOnly_aRenamesReannouncement_makesNoMessage_andIsAcknowledged() {
        // A rename is no membership change: no Audience event, and track-only mode sends no identify.
        calls = SegmentCalls.TRACK;
        state.cohorts.create(COHORT, CohortState.first("Old name").renamed("Power users"));
        store("u1", new Membership(true, 1));
        Delta reannounced = new Delta(COHORT, "Power users", "u1", true, 1, clock.instant(), null, "Old name", null,
                null, false, true);

        SendOutcome o = handle(record("m1", reannounced));

        assertThat(o.failedMessageIds()).as("acknowledged, not brought back forever").isEmpty();
        assertThat(o.messages()).isEmpty();
        assertThat(o.sent()).isZero();
        assertThat(state.segment.profiles()).isEmpty();
    }

    @Test
    void staleRenamedDelta_stillSendsTheOldNamesFalse_onItsOwn() {
        state.cohorts.create(COHORT, CohortState.first("Old name").renamed("Power users"));
        Delta renamed = new Delta(COHORT, "Power users", "u1", true, 1, clock.instant(), null, "Old name", null);
        store("u1", new Membership(false, 2)); // a newer exit overtook the re-announcement

        SendOutcome o = handle(record("m1", renamed));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(traits("u1")).containsExactly(Map.entry(PREFIX + "Old name", false));
        assertThat(o.cleared()).isEqualTo(1);
        assertThat(o.stale()).isEqualTo(1);
    }

    @Test
    void staleRenamedDelta_whenTheCohortIsBackUnderTheOldNameAndTheUserAMember_sendsNothing() {
        state.cohorts.create(COHORT, CohortState.first("Old name"));
        Delta renamed = new Delta(COHORT, "Power users", "u1", false, 1, clock.instant(), null, "Old name", null);
        store("u1", new Membership(true, 3));

        SendOutcome o = handle(record("m1", renamed));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(state.segment.requests).isZero();
    }

    @Test
    void staleRenamedDelta_whoseCohortNameCannotBeRead_comesBack() {
        Delta renamed = new Delta(COHORT, "Power users", "u1", true, 1, clock.instant(), null, "Old name", null);
        store("u1", new Membership(false, 2));
        state.cohorts.loadFault.failAlways();

        SendOutcome o = handle(record("m1", renamed), record("m2", committed("u2", true, 1)));

        assertThat(o.failedMessageIds()).containsExactly("m1");
        assertThat(o.failures().get("m1")).contains("injected");
        assertThat(traits("u2")).isNotEmpty();
    }

    @Test
    void unusableDistinctId_isDeadLetteredInTheDeltaFormat_andAcknowledged() {
        Delta empty = delta("", true, 1);
        Delta tooLong = delta("x".repeat(1_025), true, 1);

        SendOutcome o = handle(record("m1", empty), record("m2", tooLong));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(state.deadLetters.deltas()).containsExactlyInAnyOrder(empty, tooLong);
        assertThat(state.deadLetters.letters).extracting(DeadLetter::reason)
                .containsExactlyInAnyOrder("invalid delta: empty distinct id", "invalid delta: distinct id over 1024 bytes");
        assertThat(o.rejected()).isEqualTo(2);
        assertThat(state.members.reads).isZero();
    }

    @Test
    void poison_goesToTheDlqVerbatimWithItsSource_andIsAcknowledged() {
        SendOutcome o = handle(new QueuedRecord("p1", "not json", 1), record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(state.deadLetters.letters).singleElement().satisfies(l -> {
            assertThat(l.body()).isEqualTo("not json");
            assertThat(l.sourceMessageId()).isEqualTo("p1");
            assertThat(l.reason()).startsWith("undecodable delta message");
        });
        assertThat(o.poison()).isEqualTo(1);
    }

    // --- Segment's answers ---

    @Test
    void segment400ForOneMessage_sendsTheOthers_deadLettersThatOne_andAcknowledgesAll() {
        Delta good = committed("u1", true, 1);
        Delta bad = committed("u2", true, 1);
        state.segment.rejectWhen(m -> m.get("userId").asText().equals("u2"));

        SendOutcome o = handle(record("m1", good, bad));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(traits("u1")).isNotEmpty();
        assertThat(state.deadLetters.deltas()).containsExactly(bad);
        assertThat(state.deadLetters.letters.getFirst().reason()).startsWith("Segment rejected the message: ");
        assertThat(o.segment().splits()).isPositive();
        assertThat(o.deliveredByCall().values()).singleElement()
                .isEqualTo(new SendOutcome.Delivered(1, 1, 0));
    }

    @Test
    void segment429_waitsRetryAfter_thenSends() {
        state.segment.answer(new SegmentResponse.Answered(429, Optional.of(Duration.ofSeconds(2))));

        SendOutcome o = handle(record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(waits).containsExactly(Duration.ofSeconds(2));
        assertThat(o.segment().requestsByLabel()).containsEntry("429", 1).containsEntry("200", 1);
    }

    @Test
    void segment5xxAndTimeouts_areRetried_thenSent() {
        state.segment.answer(503, 1).answer(new SegmentResponse.TimedOut());

        SendOutcome o = handle(record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.segment().retries()).isEqualTo(2);
        assertThat(traits("u1")).isNotEmpty();
    }

    @Test
    void segmentDownForEveryAttempt_bringsTheRecordBack_withSegmentsReason() {
        state.segment.answer(500, SegmentDelivery.MAX_ATTEMPTS);

        SendOutcome o = handle(record("m1", committed("u1", true, 1)));

        assertThat(o.failedMessageIds()).containsExactly("m1");
        assertThat(o.failures().get("m1")).startsWith("Segment: Segment still failing after 5 attempts");
        assertThat(state.deadLetters.letters).isEmpty();
    }

    @Test
    void changeOvertakenDuringARetryWait_isWithdrawnAsStale_andAcknowledged() {
        Delta d = committed("u1", true, 1);
        state.segment.answer(503, 1);
        duringWait = w -> store("u1", new Membership(false, 2));

        SendOutcome o = handle(record("m1", d));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.fates()).containsEntry(d, new DeltaFate.Dropped(Verdict.STALE));
        assertThat(state.segment.accepted).isEmpty();
    }

    @Test
    void renamedChangeOvertakenDuringARetryWait_comesBack_soItsOldNamesFalseFollows() {
        store("u1", new Membership(true, 1));
        Delta renamed = new Delta(COHORT, "Power users", "u1", true, 1, clock.instant(), null, "Old name", null);
        state.segment.answer(503, 1);
        duringWait = w -> store("u1", new Membership(false, 2));

        SendOutcome o = handle(record("m1", renamed));

        assertThat(o.failedMessageIds()).containsExactly("m1");
        assertThat(o.failures().get("m1")).isEqualTo(SegmentStep.OVERTAKEN_RENAME);
    }

    // --- acknowledgement rules ---

    @Test
    void rejectedDeltaWhoseDeadLetterFails_bringsItsRecordBack_andOnlyThatRecord() {
        Delta good = committed("u1", true, 1);
        Delta bad = committed("u2", true, 1);
        state.segment.rejectWhen(m -> m.get("userId").asText().equals("u2"));
        state.deadLetters.fault.failAlways();

        SendOutcome o = handle(record("m1", good), record("m2", bad), new QueuedRecord("p1", "{", 1));

        assertThat(o.failedMessageIds()).containsExactly("m2", "p1");
        assertThat(o.failures().get("m2")).startsWith("dead-letter write failed: ");
        assertThat(o.deadLettered()).isZero();
    }

    @Test
    void tableReadFails_everyDeltaRecordComesBack_butPoisonIsStillDeadLettered() {
        state.members.readFault.failAlways();

        SendOutcome o = handle(record("m1", delta("u1", true, 1)), new QueuedRecord("p1", "[", 1));

        assertThat(o.failedMessageIds()).containsExactly("m1");
        assertThat(o.failures().get("m1")).contains("BatchGetItem failed");
        assertThat(state.deadLetters.letters).hasSize(1);
        assertThat(state.segment.requests).isZero();
    }

    @Test
    void requeueFails_recordComesBack_namingTheEarliestFailingStep() {
        Delta ahead = delta("u1", true, 1);
        Delta current = committed("u2", true, 1);
        state.deltas.delayFault.failAlways();
        state.segment.answer(500, SegmentDelivery.MAX_ATTEMPTS);

        SendOutcome o = handle(record("m1", current, ahead));

        assertThat(o.failures()).containsExactly(Map.entry("m1", "re-queue failed: SQS: SendMessageBatch failed (injected)"));
    }

    @Test
    void aRecordIsAcknowledgedOnlyWhenEveryDeltaItCarriesIs() {
        Delta sent = delta("u1", true, 1);
        Delta unsent = delta("u2", true, 1);

        assertThat(new SendOutcome(Decoded.of(List.of(record("a", sent, unsent), record("b", sent))), Map.of(),
                List.of(), null, Map.of(sent, new DeltaFate.Sent(clock.instant()),
                unsent, new DeltaFate.Retry(DeltaFate.Step.SEGMENT, "x")), Map.of(), 0, null).failedMessageIds())
                .containsExactly("a");
    }

    @Test
    void aRejectedDeltaNeverAcknowledges_onlyItsDeadLetterDoes() {
        Delta d = committed("u1", true, 1);
        Decoded decoded = Decoded.of(List.of(record("m1", d)));

        assertThat(DeltaFate.acknowledges(new DeltaFate.Rejected("r"))).isFalse();
        assertThat(new SendOutcome(decoded, Map.of(), List.of(), null, Map.of(d, new DeltaFate.Rejected("r")),
                Map.of(), 0, null).failedMessageIds()).containsExactly("m1");
        assertThat(new SendOutcome(decoded, Map.of(), List.of(), null, Map.of(d, new DeltaFate.DeadLettered("r")),
                Map.of(), 1, null).failedMessageIds()).isEmpty();
    }

    @Test
    void aBugMidBatch_bringsEveryRecordBack() {
        state.segment.rejectWhen(m -> {
            throw new IllegalStateException("bug");
        });

        SendOutcome o = handle(record("m1", committed("u1", true, 1)), record("m2", delta("u2", true, 5)));

        assertThat(o.failedMessageIds()).containsExactly("m1", "m2");
        assertThat(o.exception()).isInstanceOf(IllegalStateException.class);
        assertThat(o.failures().get("m1")).isEqualTo("internal error IllegalStateException");
    }

    @Test
    void dryRun_checksAndBuildsEverything_sendsNothing_andAcknowledges() {
        dryRun = true;
        Delta d = committed("u1", true, 1);

        SendOutcome o = handle(record("m1", d));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(o.fates()).containsEntry(d, new DeltaFate.WouldSend());
        assertThat(o.wouldSend()).isEqualTo(1);
        assertThat(o.sent()).isZero();
        assertThat(state.segment.requests).isZero();
        assertThat(o.deliveredByCall().values()).containsExactly(new SendOutcome.Delivered(0, 0, 1));
    }

    @Test
    void anEmptyBatch_acknowledgesNothing_andReadsNothing() {
        SendOutcome o = core().handle(List.of(), clock.instant().plusSeconds(55));

        assertThat(o.failedMessageIds()).isEmpty();
        assertThat(state.members.reads).isZero();
    }
}
