package io.cohortsync.send;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Step 2, check against the table: each delta's {@link Verdict} against the stored membership (the
 * source of truth). One read per cohort (BatchGetItem, 100 keys a call), eventually consistent, which
 * halves its cost: every commit is conditional, so a stale read can only make a delta look ahead or stale.
 */
final class TableCheck {
    private final MembershipStore store;
    private final Duration neverCommittedAfter;
    private final Clock clock;

    TableCheck(MembershipStore store, Duration neverCommittedAfter, Clock clock) {
        this.store = store;
        this.neverCommittedAfter = neverCommittedAfter;
        this.clock = clock;
    }

    /**
     * What the table says of each delta.
     *
     * @param verdicts the verdict of each delta that could be looked up
     * @param stored   what the table held for each of them
     * @param fates    the deltas this step settled: unusable ones (rejected), all of them when the read
     *                 failed (retry); the verdicts are for the next steps to act on
     */
    record Checked(Map<Delta, Verdict> verdicts, Map<Delta, Membership> stored, Map<Delta, DeltaFate> fates) {
        Checked {
            verdicts = Collections.unmodifiableMap(new LinkedHashMap<>(verdicts));
            stored = Collections.unmodifiableMap(new LinkedHashMap<>(stored));
            fates = Collections.unmodifiableMap(new LinkedHashMap<>(fates));
        }

        List<Delta> with(Verdict verdict) {
            return verdicts.entrySet().stream().filter(e -> e.getValue() == verdict).map(Map.Entry::getKey).toList();
        }
    }

    Checked check(Collection<Delta> deltas) {
        Map<Delta, DeltaFate> fates = new LinkedHashMap<>();
        List<Delta> usable = new ArrayList<>();
        for (Delta d : deltas) {
            // A delta that can never be looked up or sent would fail the whole batch's read, every time.
            String unusable = unusable(d);
            if (unusable != null) {
                fates.put(d, new DeltaFate.Rejected(unusable));
            } else {
                usable.add(d);
            }
        }
        Map<CohortRef, Map<String, Membership>> table;
        try {
            table = read(usable);
        } catch (DependencyUnavailableException e) {
            usable.forEach(d -> fates.put(d, new DeltaFate.Retry(DeltaFate.Step.READ, e.getMessage())));
            return new Checked(Map.of(), Map.of(), fates);
        }
        Map<Delta, Verdict> verdicts = new LinkedHashMap<>();
        Map<Delta, Membership> stored = new LinkedHashMap<>();
        Instant now = clock.instant();
        for (Delta d : usable) {
            Membership m = table.get(d.cohort()).getOrDefault(d.distinctId(), Membership.ABSENT);
            stored.put(d, m);
            verdicts.put(d, Verdict.of(d, m, now, neverCommittedAfter));
        }
        return new Checked(verdicts, stored, fates);
    }

    /**
     * Before a Segment retry that followed a wait: which of these deltas still equal the stored state.
     * A failed re-read keeps them all: the first read found them current, and a re-check only tightens.
     */
    Set<Delta> stillCurrent(Collection<Delta> deltas) {
        Map<CohortRef, Map<String, Membership>> table;
        try {
            table = read(deltas);
        } catch (DependencyUnavailableException e) {
            return new LinkedHashSet<>(deltas);
        }
        Instant now = clock.instant();
        Set<Delta> current = new LinkedHashSet<>();
        for (Delta d : deltas) {
            Membership m = table.get(d.cohort()).getOrDefault(d.distinctId(), Membership.ABSENT);
            if (Verdict.of(d, m, now, neverCommittedAfter) == Verdict.SEND) {
                current.add(d);
            }
        }
        return current;
    }

    private Map<CohortRef, Map<String, Membership>> read(Collection<Delta> deltas) {
        Map<CohortRef, Set<String>> ids = new LinkedHashMap<>();
        deltas.forEach(d -> ids.computeIfAbsent(d.cohort(), c -> new LinkedHashSet<>()).add(d.distinctId()));
        Map<CohortRef, Map<String, Membership>> table = new HashMap<>();
        ids.forEach((cohort, users) -> table.put(cohort, store.read(cohort, users, false)));
        return table;
    }

    /**
     * Why a delta can never be looked up or sent, or null: the table cannot key an empty id or one over
     * {@link MembershipStore#MAX_DISTINCT_ID_BYTES} (the distinct id is the sort key); Segment needs a userId.
     */
    static String unusable(Delta d) {
        if (d.distinctId().isEmpty()) {
            return "invalid delta: empty distinct id";
        }
        if (d.distinctId().getBytes(StandardCharsets.UTF_8).length > MembershipStore.MAX_DISTINCT_ID_BYTES) {
            return "invalid delta: distinct id over " + MembershipStore.MAX_DISTINCT_ID_BYTES + " bytes";
        }
        return null;
    }
}
