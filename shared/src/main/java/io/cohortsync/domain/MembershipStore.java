package io.cohortsync.domain;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Port: the membership table, the source of truth, spread over {@link Shards#COUNT} partitions per cohort. */
public interface MembershipStore {
    /**
     * The longest distinct id the table can key, in UTF-8 bytes (DynamoDB's sort key limit); an empty
     * id cannot be keyed either. The webhook skips such members, the sender dead-letters such deltas.
     */
    int MAX_DISTINCT_ID_BYTES = 1_024;

    /**
     * Stored membership of the given users; users never stored are absent from the map.
     *
     * @param consistent whether a strongly consistent read is needed (a plain read is cheaper and safe
     *                   to diff with, because every commit is conditional)
     */
    Map<String, Membership> read(CohortRef cohort, Collection<String> distinctIds, boolean consistent);

    /**
     * Commits each change only if the stored version still equals {@link Change#from()}'s.
     *
     * @return the ids whose condition failed (someone else changed them first)
     */
    Set<String> commit(CohortRef cohort, List<Change> changes);

    /**
     * As {@link #commit(CohortRef, List)}, and only where the user was not listed at or after
     * {@code unlistedBefore} (its {@link Membership#listedEpoch()} is lower): the exit pass's write.
     */
    Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore);

    /**
     * Stamps unchanged users with {@code epoch} (the race rule's mark), each only if its stored version
     * is still the one given.
     *
     * @return the ids whose version moved meanwhile (re-read and re-diff them)
     */
    Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch);

    /**
     * One page of a shard's items in key order (every user ever stored that has not expired), with ids
     * in {@code [fromInclusive, toInclusive]} (null: unbounded), after {@code cursor} (null: from the
     * start). Strongly consistent.
     */
    ScanPage scan(CohortRef cohort, int shard, String fromInclusive, String toInclusive, String cursor, int limit);

    /** A page of {@link #scan}: the items, and the cursor to pass next (null when the range is exhausted). */
    record ScanPage(List<Map.Entry<String, Membership>> items, String next) {
        public ScanPage {
            items = List.copyOf(items);
        }
    }

    /** Whether the cohort still has items in the old single-partition layout. */
    boolean hasLegacyState(CohortRef cohort);

    /**
     * Moves up to {@code limit} items of the old layout into their shards (a newer item already in its
     * shard wins) and deletes them from the old one.
     *
     * @return how many were moved; 0 when none are left
     */
    int migrateLegacy(CohortRef cohort, int limit);
}
