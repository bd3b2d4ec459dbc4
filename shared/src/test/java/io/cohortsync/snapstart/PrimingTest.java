package io.cohortsync.snapstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/** A primer that fails, hangs or cannot even be built never fails init: it logs one line and returns. */
class PrimingTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(out, true, StandardCharsets.UTF_8);

    @Test
    void failingStep_isLoggedWithoutItsMessage_andTheOthersStillRun() throws Exception {
        AtomicReference<String> ranOn = new AtomicReference<>();
        Priming priming = new Priming("webhook", () -> new Priming.Plan(List.of(
                new Priming.Step("boom", () -> {
                    throw new IllegalStateException("user alice@example.com secret s3cr3t");
                }),
                new Priming.Step("fine", () -> ranOn.set(Thread.currentThread().getName()))), null),
                log, Duration.ofSeconds(5));

        assertThatCode(() -> priming.beforeCheckpoint(null)).doesNotThrowAnyException();

        Priming.Report report = priming.lastReport();
        assertThat(report.ok()).isFalse();
        assertThat(report.ran()).containsExactly("fine");
        assertThat(report.failed()).containsEntry("boom", IllegalStateException.class.getName());
        // Not the thread that serves requests: its thread-local state (ThreadLocalRandom's seed) stays unset.
        assertThat(ranOn.get()).isEqualTo("cohort-sync-priming").isNotEqualTo(Thread.currentThread().getName());
        List<JsonNode> lines = lines();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0).path("message").asText()).isEqualTo("priming step failed");
        assertThat(lines.get(0).path("step").asText()).isEqualTo("boom");
        assertThat(lines.get(0).path("exception").asText()).isEqualTo(IllegalStateException.class.getName());
        assertThat(lines.get(0).path("at").asText()).startsWith("io.cohortsync.snapstart.PrimingTest");
        assertThat(lines.get(1).path("message").asText()).isEqualTo("priming incomplete");
        assertThat(lines.get(1).path("level").asText()).isEqualTo("WARN");
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("alice", "s3cr3t");
    }

    @Test
    void planThatCannotBeBuilt_isReported_notThrown() throws Exception {
        Priming priming = new Priming("sender", () -> {
            throw new IllegalStateException("environment variable TABLE_NAME is not set");
        }, log, Duration.ofSeconds(5));

        assertThatCode(() -> priming.beforeCheckpoint(null)).doesNotThrowAnyException();

        assertThat(priming.lastReport().failed()).containsOnlyKeys("plan");
        assertThat(lines()).singleElement().satisfies(l -> assertThat(l.path("message").asText()).isEqualTo("priming incomplete"));
    }

    @Test
    void errorsToo_areSwallowed() {
        Priming priming = new Priming("reconciler", () -> new Priming.Plan(List.of(new Priming.Step("linkage", () -> {
            throw new NoClassDefFoundError("io/cohortsync/Missing");
        })), null), log, Duration.ofSeconds(5));

        assertThatCode(() -> priming.beforeCheckpoint(null)).doesNotThrowAnyException();
        assertThat(priming.lastReport().failed()).containsEntry("linkage", NoClassDefFoundError.class.getName());
    }

    @Test
    void stepThatHangs_isLeftBehindAtTheLimit() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Priming priming = new Priming("webhook", () -> new Priming.Plan(List.of(new Priming.Step("hang", () -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })), null), log, Duration.ofMillis(200));
        try {
            long started = System.nanoTime();
            priming.beforeCheckpoint(null);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
            assertThat(priming.lastReport().timedOut()).isTrue();
            assertThat(priming.lastReport().ok()).isFalse();
        } finally {
            release.countDown();
        }
    }

    @Test
    void successfulRun_logsOneInfoLine() throws Exception {
        Priming priming = new Priming("webhook", () -> new Priming.Plan(List.of(new Priming.Step("a", () -> { }),
                new Priming.Step("b", () -> { })), null), log, Duration.ofSeconds(5));

        priming.beforeCheckpoint(null);
        priming.afterRestore(null);

        assertThat(priming.lastReport().ok()).isTrue();
        assertThat(priming.lastReport().ran()).containsExactly("a", "b");
        JsonNode line = lines().get(0);
        assertThat(lines()).hasSize(1);
        assertThat(line.path("message").asText()).isEqualTo("priming done");
        assertThat(line.path("function").asText()).isEqualTo("webhook");
        assertThat(line.path("steps").size()).isEqualTo(2);
    }

    @Test
    void register_withoutACracImplementation_returnsTheUnrunPrimer() {
        // This JVM has no CRaC implementation (org.crac's no-op): registering must still not throw.
        Priming priming = Priming.register("webhook", () -> {
            throw new AssertionError("the plan is built only when priming runs");
        });
        assertThat(priming).isNotNull();
        assertThat(priming.lastReport()).isNull();
    }

    private List<JsonNode> lines() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : out.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!l.isBlank()) {
                lines.add(json.readTree(l));
            }
        }
        return lines;
    }
}
