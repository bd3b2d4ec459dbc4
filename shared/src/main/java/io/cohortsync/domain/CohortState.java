package io.cohortsync.domain;

import java.time.Instant;
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
 * @param activity         when Mixpanel last called for the cohort (README "Cohorts that stop syncing"); null for
 *                         an item written before that was recorded
 * @param retiredAt        when {@code retire} finished retiring the cohort, or null (a later export clears it)
 */
public record CohortState(String name, long nameVersion, Map<Long, String> names, long epoch,
                          String reconcileSession, boolean reconciling, boolean migrating, Activity activity,
                          Instant retiredAt) {
    /** Names kept by version; a member last announced under an older one gets no old-trait false. */
    public static final int MAX_NAMES = 50;
    /** The session id prefix of a retirement's exit pass (the {@code retire} command), as {@link #reconcileSession}. */
    public static final String RETIRE_SESSION_PREFIX = "cohort-sync-retire-";

    /**
     * The cohort's sync record: cheap by design, it is written at most once per
     * {@code CohortSyncService#RECORD_EVERY} per cohort (and on every call while a retirement runs or after one).
     *
     * @param firstSeen the first call recorded
     * @param lastSync  the last call recorded
     * @param lastAction that call's action (its wire name)
     * @param syncs     calls recorded, at most one per recording interval: how regularly the cohort synced
     */
    public record Activity(Instant firstSeen, Instant lastSync, String lastAction, long syncs) {
        public Activity {
            Objects.requireNonNull(firstSeen, "firstSeen");
            Objects.requireNonNull(lastSync, "lastSync");
            Objects.requireNonNull(lastAction, "lastAction");
        }

        /** The record after one more recorded call. */
        public Activity next(Instant at, String action) {
            return new Activity(firstSeen, at, action, syncs + 1);
        }
    }

    /** A state without a sync record (items written before it existed, and tests). */
    public CohortState(String name, long nameVersion, Map<Long, String> names, long epoch, String reconcileSession,
                       boolean reconciling, boolean migrating) {
        this(name, nameVersion, names, epoch, reconcileSession, reconciling, migrating, null, null);
    }

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

    /** A cohort seen for the first time, its first call recorded. */
    public static CohortState first(String name, Instant at, String action) {
        return new CohortState(name, 1, Map.of(), 0, null, false, false, new Activity(at, at, action, 1), null);
    }

    /** Whether the pending exit pass is a retirement's (the {@code retire} command), not a full sync's. */
    public boolean retiring() {
        return reconciling && reconcileSession != null && reconcileSession.startsWith(RETIRE_SESSION_PREFIX);
    }

    /** The same state with another sync record and retirement. */
    public CohortState with(Activity newActivity, Instant newRetiredAt) {
        return new CohortState(name, nameVersion, names, epoch, reconcileSession, reconciling, migrating, newActivity,
                newRetiredAt);
    }

    /** The state after a rename to {@code newName}. */
    public CohortState renamed(String newName) {
        return new CohortState(newName, nameVersion + 1, names, epoch, reconcileSession, reconciling, migrating,
                activity, retiredAt);
    }

    /** The state after {@code session} completed: the next epoch, its exit pass pending. */
    public CohortState completed(String session) {
        return new CohortState(name, nameVersion, names, epoch + 1, session, true, migrating, activity, retiredAt);
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
