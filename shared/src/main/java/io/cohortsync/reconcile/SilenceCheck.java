package io.cohortsync.reconcile;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortRegistry;
import io.cohortsync.domain.CohortState;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * README "Cohorts that stop syncing": Mixpanel sends nothing when a cohort is deleted or its export is
 * switched off, so its trait would stay {@code true} on every profile for good. This finds the cohorts
 * that synced regularly and have been silent for longer than the threshold, from the registry of cohorts
 * (never from their members). A cohort is <em>watched</em> when its record holds at least
 * {@link #MIN_SYNCS} recorded calls (so at least two calls an hour or more apart: a cohort tried once is
 * not alarmed on) and it is neither retired nor being retired.
 */
public final class SilenceCheck {
    /** Recorded calls (at most one an hour, {@code CohortSyncService.RECORD_EVERY}) that make a cohort watched. */
    public static final long MIN_SYNCS = 2;
    /** The body of the scheduled message that asks the reconciler for this check (template {@code SilenceCheck}). */
    public static final String MESSAGE = "{\"schema\":\"cohort-sync.silence-check/1\"}";

    /** One silent cohort, for its log line. */
    public record Silent(CohortRef cohort, String name, Duration silentFor, Instant lastSync, String lastAction,
                         long syncs) {
    }

    /**
     * @param cohorts every registered cohort read
     * @param watched those that count (regular, not retired)
     * @param retired retired or being retired
     * @param silent  the watched ones silent for longer than the threshold
     */
    public record Report(int cohorts, int watched, int retired, List<Silent> silent) {
        public Report {
            silent = List.copyOf(silent);
        }
    }

    private final CohortRegistry registry;
    private final Duration threshold;
    private final Clock clock;

    public SilenceCheck(CohortRegistry registry, Duration threshold, Clock clock) {
        this.registry = Objects.requireNonNull(registry, "registry");
        if (threshold.isNegative() || threshold.isZero()) {
            throw new IllegalArgumentException("the silence threshold must be positive, was " + threshold);
        }
        this.threshold = threshold;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Whether a reconcile-queue message body is this check's rather than a job's. */
    public static boolean isCheckMessage(String body) {
        return body != null && body.replaceAll("\\s", "").equals(MESSAGE);
    }

    public Report run() {
        Instant now = clock.instant();
        int[] counts = new int[3];
        List<Silent> silent = new ArrayList<>();
        registry.forEachCohort((cohort, state) -> {
            counts[0]++;
            if (state.retiredAt() != null || state.retiring()) {
                counts[2]++;
                return;
            }
            CohortState.Activity a = state.activity();
            if (a == null || a.syncs() < MIN_SYNCS) {
                return;
            }
            counts[1]++;
            Duration quiet = Duration.between(a.lastSync(), now);
            if (quiet.compareTo(threshold) > 0) {
                silent.add(new Silent(cohort, state.name(), quiet, a.lastSync(), a.lastAction(), a.syncs()));
            }
        });
        return new Report(counts[0], counts[1], counts[2], silent);
    }
}
