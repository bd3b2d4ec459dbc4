package io.cohortsync.domain;

import java.util.function.BiConsumer;

/**
 * Port: every cohort the deployment has synced, without reading its members (README "Cohorts that stop
 * syncing"). The webhook enters a cohort when it records its first call ({@link CohortStore#recordSync});
 * the silence check reads them all.
 */
public interface CohortRegistry {
    /** Hands each registered cohort and its current state to {@code each} (cohorts without an item are left out). */
    void forEachCohort(BiConsumer<CohortRef, CohortState> each);
}
