package io.cohortsync.domain;

import java.util.Optional;

/**
 * Port: the last name seen for each cohort, so a rename in Mixpanel (same id, new name) can move the
 * trait: members get the old trait set to false and the new one to true.
 */
public interface CohortNames {
    /** Used where renames are not followed: nothing is read or stored. */
    CohortNames NOT_TRACKED = new CohortNames() {
        @Override
        public Optional<String> get(CohortRef cohort) {
            return Optional.empty();
        }

        @Override
        public void put(CohortRef cohort, String name) {
            // Renames are switched off: there is nothing to remember.
        }
    };

    Optional<String> get(CohortRef cohort);

    void put(CohortRef cohort, String name);
}
