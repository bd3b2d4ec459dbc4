package io.cohortsync.reliability;

import io.cohortsync.reliability.load.LoadRun;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The small variant of {@code make load} (which sends 50 pages × 1,000 users): two full syncs of 3 pages ×
 * 200 users, every page sent twice, all at the same moment, through the local stack. Every request ends 2xx
 * (after Mixpanel-style retries of retryable answers), nothing is lost or sent twice, Segment ends with
 * every user in the cohort, and nothing personal reaches the functions' output.
 */
@ExtendWith(MotoExtension.class)
class LoadIT {
    @Test
    void burstOfPagesAndTheirReplays_endsWithEveryUserInSegmentOnce() throws Exception {
        LoadRun.Result result;
        try (OutputCapture capture = OutputCapture.start(false)) {
            result = LoadRun.run(new LoadRun.Options(2, 3, 200, Duration.ofSeconds(30), 6, Duration.ofMinutes(3)), capture);
            result.print(capture.console());
        }
        assertThat(result.problems()).isEmpty();
        assertThat(result.changes()).isEqualTo(1_200);
        assertThat(result.answers().keySet()).allSatisfy(status -> assertThat(status).isIn("200", "429", "500",
                "502", "503", "504"));
    }
}
