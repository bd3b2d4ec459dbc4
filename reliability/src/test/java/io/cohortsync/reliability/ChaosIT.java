package io.cohortsync.reliability;

import io.cohortsync.reliability.chaos.ChaosRun;
import io.cohortsync.reliability.chaos.ChaosStats;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fast subset of {@code make chaos}: a few seeded schedules of Mixpanel traffic through the three real
 * handlers (webhook, sender, reconciler) on moto and the Segment stand-in, with faults injected everywhere,
 * then, once both queues drained, every promise checked (see {@code ChaosChecker}). Each schedule replays
 * alone with {@code make chaos SEED=<its seed> RUNS=1}, which a failure names.
 */
@ExtendWith(MotoExtension.class)
class ChaosIT {
    /**
     * A schedule now costs several times the AWS requests it used to (every full sync is 32 reconcile jobs,
     * every rename 16), so four schedules, picked (from {@code make chaos SEED=7 RUNS=20}, verbose) to cover
     * between them what the suite is about, at about 5,300 requests, not quite twice the twelve schedules of
     * the single-function design: 7 (three connections, a lagging reconciler, many renames, a diff naming a
     * user whose exit pass is pending), 7621113624420504425 (an upgrade from the old layout, connections in
     * parallel), 6849861940886463536 (an upgrade, reconciler faults) and 8632209307422871798 (a cohort of a
     * few thousand members). {@code make chaos} runs the breadth.
     */
    static final List<Long> SCHEDULES = List.of(7L, 7621113624420504425L, 6849861940886463536L,
            8632209307422871798L);

    @Test
    void schedules_keepEveryPromise_underInjectedFaults() {
        ChaosStats stats;
        try (OutputCapture capture = OutputCapture.start(false)) {
            stats = ChaosRun.run(SCHEDULES, capture.console(), capture, Path.of("target", "chaos-failures"));
            ChaosRun.print(SCHEDULES.getFirst(), SCHEDULES.size(), stats, capture.console());
        }

        assertThat(stats.violations()).as("broken promises (replay a schedule with make chaos SEED=<seed> RUNS=1)")
                .isEmpty();
        // and the run really exercised what it claims to
        assertThat(stats.counter("schedules")).isEqualTo(SCHEDULES.size());
        assertThat(stats.counter("changes committed")).isPositive();
        assertThat(stats.counter("exit passes finished (epochs reached)")).as("full syncs reconciled").isPositive();
        assertThat(stats.counter("name versions reached beyond the first")).as("renames announced").isPositive();
        assertThat(stats.counter("diffs naming users a full sync left out, its exit pass pending"))
                .as("the race rule's case").isPositive();
        assertThat(stats.counter("members marked while an exit pass was pending")).isPositive();
        assertThat(stats.counter("cohorts with thousands of members")).isPositive();
        assertThat(stats.counter("cohorts upgraded from the single-partition layout")).isPositive();
        assertThat(stats.counter("503 while the reconciler migrated the cohort")).isPositive();
        assertThat(stats.counter("steps with connections syncing in parallel")).isPositive();
        assertThat(stats.faults().keySet()).anyMatch(k -> k.startsWith("webhook crash"))
                .anyMatch(k -> k.startsWith("webhook throttle")).anyMatch(k -> k.startsWith("segment-"))
                .anyMatch(k -> k.startsWith("sender ")).anyMatch(k -> k.startsWith("sqs-"))
                .anyMatch(k -> k.startsWith("reconciler ")).anyMatch(k -> k.startsWith("reconcile-sqs-"));
    }
}
