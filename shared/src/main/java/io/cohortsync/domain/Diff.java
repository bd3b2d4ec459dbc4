package io.cohortsync.domain;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Pure diffing: which users must change to reach a desired membership, and which must be marked. */
public final class Diff {
    private Diff() {
    }

    /**
     * What one request does to the users it lists.
     *
     * @param changes real changes, each one version up, stamped with the cohort's name version and epoch
     * @param marks   listed members whose state does not change but who must be marked with the cohort's
     *                epoch because its exit pass is pending (README "The race rule"): what was stored
     */
    public record Page(List<Change> changes, Map<String, Membership> marks) {
        public Page {
            changes = List.copyOf(changes);
            marks = Map.copyOf(marks);
        }
    }

    /**
     * The changes that bring every user in {@code distinctIds} to {@code desiredMember}, given what is
     * stored (a user missing from {@code stored} is {@link Membership#ABSENT}). Users already in the
     * desired state produce nothing, which is what makes replays free, except a mark when
     * {@code markUnchanged} (the cohort's exit pass is pending, and these users are not of its session). An enter records the Segment user id the export mapped the user to
     * ({@code userIds}; absent = the distinct id); an exit keeps the one stored at the enter, so it
     * reaches the same profile. With {@code followRenames}, a change of a member last announced under an
     * older name carries that name ({@link Change#previousName()}), whose trait it sets to false.
     */
    public static Page page(Collection<String> distinctIds, Map<String, Membership> stored, boolean desiredMember,
                            Map<String, String> userIds, CohortState cohort, boolean followRenames,
                            boolean markUnchanged) {
        return page(distinctIds, stored, desiredMember, userIds, java.util.Set.of(), cohort, followRenames,
                markUnchanged);
    }

    /**
     * As above; an enter of a user in {@code anonymous} (no user-id property, {@code MISSING_USER_ID=anonymous})
     * records them as anonymous: Segment knows them by their distinct id as {@code anonymousId}, and so does
     * their exit, like a mapped user id (the identity of the enter is kept until the user enters again).
     */
    public static Page page(Collection<String> distinctIds, Map<String, Membership> stored, boolean desiredMember,
                            Map<String, String> userIds, java.util.Set<String> anonymous, CohortState cohort,
                            boolean followRenames, boolean markUnchanged) {
        List<Change> changes = new ArrayList<>();
        Map<String, Membership> marks = new LinkedHashMap<>();
        for (String id : distinctIds) {
            Membership current = stored.getOrDefault(id, Membership.ABSENT);
            if (current.member() != desiredMember) {
                Membership next = (desiredMember ? current.next(true, userIds.get(id), anonymous.contains(id)) : current.next(false))
                        .stamped(cohort.nameVersion(), cohort.epoch());
                String previousName = followRenames ? cohort.previousNameFor(current.nameVersion()).orElse(null) : null;
                changes.add(new Change(id, current, next, previousName));
            } else if (markUnchanged && current.member() && current.listedEpoch() < cohort.epoch()) {
                marks.put(id, current);
            }
        }
        return new Page(changes, marks);
    }
}
