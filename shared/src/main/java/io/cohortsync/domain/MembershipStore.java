package io.cohortsync.domain;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Port: the membership table, the source of truth. */
public interface MembershipStore {
    /**
     * Stored membership of the given users; users never stored are absent from the map.
     *
     * @param consistent whether a strongly consistent read is needed (a plain read is cheaper and safe
     *                   to diff with, because every commit is conditional)
     */
    Map<String, Membership> read(CohortRef cohort, Collection<String> distinctIds, boolean consistent);

    /**
     * Commits each change only if the stored state still equals {@link Change#from()}.
     *
     * @return the ids whose condition failed (someone else changed them first)
     */
    Set<String> commit(CohortRef cohort, List<Change> changes);

    /** Every user of the cohort whose stored membership is {@code member = true}. Strongly consistent. */
    Map<String, Membership> currentMembers(CohortRef cohort);
}
