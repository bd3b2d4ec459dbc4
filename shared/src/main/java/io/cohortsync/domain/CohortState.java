package io.cohortsync.domain;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The per-cohort item every request reads first (one strongly consistent GetItem): the name and its
 * version history (renames), the epoch of the last completed full sync and whether its exit pass is
 * still running (the race rule), and the state layout.
 *
 * @param name             the current name (the trait key)
 * @param nameVersion      grows by one with every rename; 1 for the first name seen
 * @param names            name by version, the most recent {@link #MAX_NAMES}: what a member announced under an
 *                         older version must set to false
 * @param epoch            grows by one with every full-sync session that completes; 0 before the first
 * @param reconcileSession the session whose completion set {@code epoch}, or null
 * @param reconciling      true while the exit pass of {@code epoch} is pending: requests then mark the members they list
 * @param migrating        true while the cohort's old single-partition state is being moved to shards
 */
public record CohortState(String name, long nameVersion, Map<Long, String> names, long epoch,
                          String reconcileSession, boolean reconciling, boolean migrating) {
    /** Names kept by version; a member last announced under an older one gets no old-trait false. */
    public static final int MAX_NAMES = 50;

    public CohortState {
        Objects.requireNonNull(name, "name");
        if (nameVersion < 1) {
            throw new IllegalArgumentException("nameVersion must be >= 1, was " + nameVersion);
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, was " + epoch);
        }
        TreeMap<Long, String> sorted = new TreeMap<>(names);
        sorted.put(nameVersion, name);
        while (sorted.size() > MAX_NAMES) {
            sorted.pollFirstEntry();
        }
        names = Collections.unmodifiableMap(sorted);
    }

    /** A cohort seen for the first time. */
    public static CohortState first(String name) {
        return new CohortState(name, 1, Map.of(), 0, null, false, false);
    }

    /** The state after a rename to {@code newName}. */
    public CohortState renamed(String newName) {
        return new CohortState(newName, nameVersion + 1, names, epoch, reconcileSession, reconciling, migrating);
    }

    /** The state after {@code session} completed: the next epoch, its exit pass pending. */
    public CohortState completed(String session) {
        return new CohortState(name, nameVersion, names, epoch + 1, session, true, migrating);
    }

    /**
     * The name a member announced under {@code memberNameVersion} must now set to false, if any: the
     * name of that version when it differs from the current one.
     */
    public Optional<String> previousNameFor(long memberNameVersion) {
        if (memberNameVersion == 0 || memberNameVersion >= nameVersion) {
            return Optional.empty();
        }
        String old = names.get(memberNameVersion);
        return old == null || old.equals(name) ? Optional.empty() : Optional.of(old);
    }
}
