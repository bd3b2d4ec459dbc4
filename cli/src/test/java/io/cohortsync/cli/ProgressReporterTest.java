package io.cohortsync.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressReporterTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void progress_printsAPlainLineEveryInterval_whenNotATerminal() {
        // given
        ProgressReporter reporter = new ProgressReporter(err, false, Duration.ofSeconds(5), now::get);

        // when 10 of 40 shards in 5 s (1,000 deltas), then 20 at 6 s (not yet the next line), then done at 10 s
        try (ProgressReporter.Progress p = reporter.start("backfill", 40, "shards", "deltas")) {
            advance(Duration.ofSeconds(5));
            p.update(10, 1_000);
            advance(Duration.ofSeconds(1));
            p.update(20, 2_000);
            advance(Duration.ofSeconds(4));
            p.update(40, 4_000);
        }

        // then
        assertThat(printed().lines().toList()).containsExactly(
                "backfill: 10/40 shards (25%), 1,000 deltas, 200 deltas/s, ETA 15 s",
                "backfill: 40/40 shards (100%), 4,000 deltas, 400 deltas/s",
                "backfill: done, 40/40 shards (100%), 4,000 deltas, 400 deltas/s, 10 s");
        assertThat(printed()).doesNotContain("\r");
    }

    @Test
    void progress_redrawsOneLineInPlace_whenATerminal() {
        // given
        ProgressReporter reporter = new ProgressReporter(err, true, Duration.ofSeconds(5), now::get);

        // when
        try (ProgressReporter.Progress p = reporter.start("replay", 1_000, "messages", "messages")) {
            advance(Duration.ofMillis(500));
            p.update(100, 100);
            advance(Duration.ofMillis(100)); // within the redraw interval: not drawn
            p.update(150, 150);
            advance(Duration.ofMillis(400));
            p.update(200, 200);
        }

        // then each drawing starts with \r, only the last ends the line
        assertThat(printed()).isEqualTo("\rreplay: 100/1,000 messages (10%), 200 messages/s, ETA 4.5 s"
                + "\rreplay: 200/1,000 messages (20%), 200 messages/s, ETA 4.0 s"
                + "\rreplay: done, 200/1,000 messages (20%), 200 messages/s, 1.0 s" + " ".repeat(0)
                + System.lineSeparator());
    }

    @Test
    void progress_saysNoEta_whenTheTotalIsUnknown() {
        ProgressReporter reporter = new ProgressReporter(err, false, Duration.ZERO, now::get);

        try (ProgressReporter.Progress p = reporter.start("retire", 0, "members", "members")) {
            advance(Duration.ofSeconds(2));
            p.update(50, 50);
        }

        assertThat(printed().lines().toList()).containsExactly("retire: 50 members, 25 members/s",
                "retire: done, 50 members, 25 members/s, 2.0 s");
    }
}
