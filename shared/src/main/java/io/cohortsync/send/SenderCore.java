package io.cohortsync.send;

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
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.segment.SegmentDelivery;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The sender's rules: one SQS batch of delta messages → Segment, in steps that each hand the next a
 * value: decode ({@link Decoded}) → check against the table ({@link Verdict}s) → re-queue what is ahead
 * and find the old names still owed a false → deliver → dead-letter → a {@link SendOutcome}, which alone
 * decides which records are acknowledged ({@link DeltaFate#acknowledges}). Only a delta that equals the
 * stored membership is sent, so order and duplicates on the queue do not matter.
 */
public final class SenderCore {
    private final SendSettings settings;
    private final CohortStore cohorts;
    private final DelayedDeltaQueue requeue;
    private final DeadLetterQueue deadLetters;
    private final TableCheck table;
    private final SegmentStep segment;

    /**
     * @param cohorts    read for the cohort's current name when a stale delta may still owe an old name's false
     * @param deliveries the delivery (write key, Segment URL) of each connection
     */
    public SenderCore(SendSettings settings, MembershipStore store, CohortStore cohorts, DelayedDeltaQueue requeue,
                      DeadLetterQueue deadLetters, Function<String, SegmentDelivery> deliveries, Clock clock) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cohorts = Objects.requireNonNull(cohorts, "cohorts");
        this.requeue = Objects.requireNonNull(requeue, "requeue");
        this.deadLetters = Objects.requireNonNull(deadLetters, "deadLetters");
        this.table = new TableCheck(Objects.requireNonNull(store, "store"), settings.neverCommittedAfter(), clock);
        this.segment = new SegmentStep(Objects.requireNonNull(deliveries, "deliveries"), table, settings);
    }

    /** @param deadline nothing is sent to Segment after it */
    public SendOutcome handle(List<QueuedRecord> records, Instant deadline) {
        try {
            Decoded decoded = Decoded.of(records);
            TableCheck.Checked checked = table.check(decoded.sources().keySet());
            Map<Delta, DeltaFate> fates = new LinkedHashMap<>(checked.fates());
            checked.with(Verdict.NEVER_COMMITTED).forEach(d -> fates.put(d, new DeltaFate.Dropped(Verdict.NEVER_COMMITTED)));
            fates.putAll(requeue(checked.with(Verdict.NOT_YET_COMMITTED)));
            OldNames owed = oldNames(checked);
            fates.putAll(owed.fates());
            SegmentStep.Delivered delivered = segment.deliver(checked.with(Verdict.SEND), owed.toClear(), deadline);
            fates.putAll(delivered.fates());
            Lettered lettered = deadLetter(decoded, fates);
            return new SendOutcome(decoded, checked.verdicts(), delivered.messages(), delivered.report(),
                    lettered.fates(), lettered.poison(), lettered.written(), null);
        } catch (RuntimeException e) {
            // Our own bug. Which records finished is unknown, so all come back: every step is idempotent
            // (state check, deterministic messageIds), a redelivery costs requests but no wrong data.
            return SendOutcome.crashed(records, e);
        }
    }

    /** Deltas ahead of the table, back on the queue with a delay: the commit may still land. */
    private Map<Delta, DeltaFate> requeue(List<Delta> later) {
        if (later.isEmpty()) {
            return Map.of();
        }
        DeltaFate fate;
        try {
            requeue.enqueueDelayed(later, settings.aheadRetryDelay());
            fate = new DeltaFate.Requeued();
        } catch (DependencyUnavailableException e) {
            fate = new DeltaFate.Retry(DeltaFate.Step.REQUEUE, "re-queue failed: " + e.getMessage());
        }
        Map<Delta, DeltaFate> fates = new LinkedHashMap<>();
        for (Delta d : later) {
            fates.put(d, fate);
        }
        return fates;
    }

    /**
     * @param toClear stale renamed deltas whose old name's false is still owed (sent on their own)
     * @param fates   the other stale deltas: dropped, or retried when the cohort's name could not be read
     */
    private record OldNames(List<Delta> toClear, Map<Delta, DeltaFate> fates) {
    }

    /**
     * A stale delta that names a previous name can no longer send its identify, but the old name's false
     * must still reach the profile (README "The rename rule"), unless the cohort carries that name again
     * and the user is a member (then {@code true} is right).
     */
    private OldNames oldNames(TableCheck.Checked checked) {
        Map<CohortRef, String> currentNames = new HashMap<>();
        List<Delta> toClear = new ArrayList<>();
        Map<Delta, DeltaFate> fates = new LinkedHashMap<>();
        for (Delta d : checked.with(Verdict.STALE)) {
            if (d.previousName() == null) {
                fates.put(d, new DeltaFate.Dropped(Verdict.STALE));
                continue;
            }
            String current;
            try {
                current = currentNames.computeIfAbsent(d.cohort(),
                        c -> cohorts.load(c).map(CohortState::name).orElse(d.cohortName()));
            } catch (DependencyUnavailableException e) {
                fates.put(d, new DeltaFate.Retry(DeltaFate.Step.RENAME, e.getMessage()));
                continue;
            }
            // Renamed back to the old name: a member keeps it true; anyone else needs its false (chaos: a user
            // who left under the second name kept the first name's true once the cohort was renamed back).
            Membership stored = checked.stored().get(d);
            if (!d.previousName().equals(current) || !stored.member()) {
                toClear.add(d);
            } else {
                fates.put(d, new DeltaFate.Dropped(Verdict.STALE));
            }
        }
        return new OldNames(toClear, fates);
    }

    /**
     * @param fates   every delta's fate, the rejected ones now dead-lettered or retried
     * @param poison  each undecodable record's fate
     * @param written letters durably written
     */
    private record Lettered(Map<Delta, DeltaFate> fates, Map<String, DeltaFate> poison, int written) {
    }

    /**
     * Poison verbatim, with its reason; rejected deltas in the delta format, so a replay onto the delta
     * queue just works. Only a letter SQS confirmed makes its record acknowledgeable.
     */
    private Lettered deadLetter(Decoded decoded, Map<Delta, DeltaFate> fates) {
        List<DeadLetter> letters = new ArrayList<>();
        decoded.poison().forEach((id, reason) -> letters.add(new DeadLetter(decoded.body(id), reason, id)));
        Map<String, List<Delta>> rejected = new TreeMap<>();
        fates.forEach((d, f) -> {
            if (f instanceof DeltaFate.Rejected r) {
                rejected.computeIfAbsent(r.reason(), k -> new ArrayList<>()).add(d);
            }
        });
        rejected.forEach((reason, deltas) -> DeltaCodec.encode(deltas, DeltaQueue.MAX_MESSAGE_BYTES)
                .forEach(body -> letters.add(new DeadLetter(body, reason, ""))));
        if (letters.isEmpty()) {
            return new Lettered(fates, Map.of(), 0);
        }
        String failure = null;
        try {
            deadLetters.send(letters);
        } catch (DependencyUnavailableException e) {
            failure = "dead-letter write failed: " + e.getMessage();
        }
        String failed = failure;
        Function<String, DeltaFate> settle = reason -> failed == null ? new DeltaFate.DeadLettered(reason)
                : new DeltaFate.Retry(DeltaFate.Step.DEAD_LETTER, failed);
        Map<Delta, DeltaFate> settled = new LinkedHashMap<>(fates);
        rejected.forEach((reason, deltas) -> deltas.forEach(d -> settled.put(d, settle.apply(reason))));
        Map<String, DeltaFate> poison = new LinkedHashMap<>();
        decoded.poison().forEach((id, reason) -> poison.put(id, settle.apply(reason)));
        return new Lettered(settled, poison, failed == null ? letters.size() : 0);
    }
}
