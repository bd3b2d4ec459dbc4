package io.cohortsync.reliability;

import io.cohortsync.reliability.chaos.ChaosRun;
import io.cohortsync.reliability.chaos.ChaosStats;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fast subset of {@code make chaos}: a few seeded schedules of Mixpanel traffic through both real
 * handlers on moto and the Segment stand-in, with faults injected everywhere, then every promise checked
 * (see {@code ChaosChecker}). The seed is fixed, so a failure here replays with
 * {@code make chaos SEED=<the schedule's seed> RUNS=1}, which the failure message names.
 */
@ExtendWith(MotoExtension.class)
class ChaosIT {
    static final long SEED = 20261128L;
    static final int SCHEDULES = 12;

    @Test
    void schedules_keepEveryPromise_underInjectedFaults() {
        ChaosStats stats;
        try (OutputCapture capture = OutputCapture.start(false)) {
            stats = ChaosRun.run(SEED, SCHEDULES, capture.console(), capture, Path.of("target", "chaos-failures"));
            ChaosRun.print(SEED, SCHEDULES, stats, capture.console());
        }

        assertThat(stats.violations()).as("broken promises (replay a schedule with make chaos SEED=<seed> RUNS=1)")
                .isEmpty();
        // and the run really exercised what it claims to
        assertThat(stats.counter("schedules")).isEqualTo(SCHEDULES);
        assertThat(stats.counter("changes committed")).isPositive();
        assertThat(stats.faults().keySet()).anyMatch(k -> k.startsWith("webhook crash"))
                .anyMatch(k -> k.startsWith("webhook throttle")).anyMatch(k -> k.startsWith("segment-"))
                .anyMatch(k -> k.startsWith("sender ")).anyMatch(k -> k.startsWith("sqs-"));
    }
}
