package io.cohortsync.domain;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Pure diffing: which users must change to reach a desired membership. */
public final class Diff {
    private Diff() {
    }

    /**
     * The changes that bring every user in {@code distinctIds} to {@code desiredMember}, given what is
     * stored (a user missing from {@code stored} is {@link Membership#ABSENT}). Users already in the
     * desired state produce nothing, which is what makes replays free.
     */
    public static List<Change> toward(Collection<String> distinctIds, Map<String, Membership> stored,
                                      boolean desiredMember) {
        return toward(distinctIds, stored, desiredMember, Map.of());
    }

    /**
     * As {@link #toward(Collection, Map, boolean)}, recording on each enter the Segment user id the
     * export mapped the user to ({@code userIds}; absent = the distinct id). An exit keeps the user id
     * stored at the enter, so it reaches the same Segment profile.
     */
    public static List<Change> toward(Collection<String> distinctIds, Map<String, Membership> stored,
                                      boolean desiredMember, Map<String, String> userIds) {
        List<Change> changes = new ArrayList<>();
        for (String id : distinctIds) {
            Membership current = stored.getOrDefault(id, Membership.ABSENT);
            if (current.member() != desiredMember) {
                Membership next = desiredMember ? current.next(true, userIds.get(id)) : current.next(false);
                changes.add(new Change(id, current, next));
            }
        }
        return changes;
    }

    /** Every current member re-announced under a new name (version bumped, membership unchanged). */
    public static List<Change> renamed(Map<String, Membership> currentMembers, String previousName) {
        List<Change> changes = new ArrayList<>();
        currentMembers.forEach((id, m) -> {
            if (m.member()) {
                changes.add(new Change(id, m, m.next(true), previousName));
            }
        });
        return changes;
    }

    /** Current members that a complete full export did not mention: they exit. */
    public static List<String> absentMembers(Map<String, Membership> currentMembers, Set<String> exported) {
        List<String> absent = new ArrayList<>();
        currentMembers.forEach((id, m) -> {
            if (m.member() && !exported.contains(id)) {
                absent.add(id);
            }
        });
        return absent;
    }
}
