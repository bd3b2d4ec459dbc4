package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.domain.Shards;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark's own code at a tiny scale (2,000 incremental changes, a 2,000-user cohort, one round of
 * cold starts under the Lambda runtime client, a few CPU samples), so {@code make bench} cannot rot. The
 * packages are the run's sam-build packages (built once per tree; infra-tests' build is reused). Asserts
 * what the design guarantees per change, never a timing. Full syncs finish in the reconciler: its
 * invocations, AWS requests and units are part of the full-sync phases.
 */
@ExtendWith(MotoExtension.class)
class BenchSmokeIT {
    private static final List<String> REQUIRED = List.of("cost_per_million_changes_usd", "floor_per_million_changes_usd",
            "naive_per_million_changes_usd", "noop_resync_cost_ratio", "identifies_per_segment_request",
            "changes_per_second", "webhook_page_p50_ms", "webhook_page_p99_ms", "cpu_ms_per_1000_member_page",
            "cold_start_ratio_webhook", "cold_start_ratio_reconciler", "cold_start_ratio_sender",
            "cold_start_ratio_to_bare_sdk_webhook", "cold_start_ratio_to_bare_sdk_reconciler",
            "cold_start_ratio_to_bare_sdk_sender", "cold_start_bare_sdk_ms", "cold_start_runtime_start_ms",
            "full_sync_exits_reconciler_invocations", "first_request_primed_to_warm_webhook",
            "first_request_primed_to_warm_reconciler", "first_request_primed_to_warm_sender", "priming_ms_webhook");

    @TempDir
    Path out;

    @Test
    void run_measuresEveryWorkloadAndWritesTheReport_atSmokeScale() throws Exception {
        // given
        Benchmark.Settings settings = Benchmark.Settings.smoke(repositoryRoot(), out);

        // when
        Benchmark.Results results = Benchmark.run(settings);
        Report report = new Report(results);
        report.write(out);

        // then: every required number is there
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        for (String key : REQUIRED) {
            assertThat(json.path(key).isNumber()).as(key).isTrue();
        }
        assertThat(json.path("package_mb_webhook").isNumber()).isTrue();
        assertThat(Files.readString(out.resolve("results.md"))).contains("| target | value | met | why |")
                .contains("### Cold start under the Lambda runtime client").contains("### First request without and after SnapStart priming");

        // and: the incremental workload costs what the design says, per change
        Phase incremental = results.incremental();
        assertThat(incremental.changes()).isEqualTo(2000);
        assertThat(incremental.billing().membershipWrites()).isEqualTo(2000);
        assertThat(incremental.billing().membershipWriteUnits()).isEqualTo(2000.0);
        assertThat(incremental.calls().get("DynamoDb.BatchGetItem")).isEqualTo(20 + 20); // webhook + sender, 100 keys a call
        // each page reads its cohort item once, and once more after its commits (README "Late writes")
        assertThat(incremental.calls().get("DynamoDb.GetItem")).isEqualTo(2 * 2);
        assertThat(incremental.segment().identifies()).isEqualTo(2000);
        assertThat(incremental.reconciler()).isEmpty();
        assertThat(Report.perPageCountsIdentical(incremental)).isTrue();
        assertThat(incremental.failedRecords()).isZero();
        assertThat(incremental.billing().shadowMismatches()).isZero();

        // and: the no-op re-sync changes nothing; its exit pass runs in the reconciler, one count job per
        // shard, which finds nobody to exit, so no apply job is queued
        Phase noop = results.noop();
        assertThat(noop.billing().membershipWrites()).isZero();
        assertThat(noop.billing().deltaMessagesSent()).isZero();
        assertThat(noop.billing().sqsJobMessagesSent()).isEqualTo(Shards.COUNT);
        assertThat(noop.segment().requests()).isZero();
        assertThat(noop.reconciler()).hasSize(Shards.COUNT).allMatch(i -> i.status() == 0);
        assertThat(noop.billing().writes(ItemKind.SESSION_IDS)).isEqualTo(2 * Shards.COUNT); // 2 pages, 16 pieces each
        assertThat(noop.billing().shadowMismatches()).isZero();
        assertThat(results.checks()).containsEntry("noopSessionOutcome", "APPLIED 2000 members, 0 exits");

        // and: the full sync with exits sends each exit once; the exits are the reconciler's writes, after the
        // last page was answered
        Phase exits = results.exits();
        assertThat(exits.changes()).isEqualTo(200);
        assertThat(exits.segment().identifies()).isEqualTo(200);
        assertThat(exits.billing().membershipWrites()).isEqualTo(200);
        assertThat(exits.webhook()).allSatisfy(page -> assertThat(page.billing().membershipWrites()).isZero());
        assertThat(exits.reconciler().stream().mapToLong(i -> i.billing().membershipWrites()).sum()).isEqualTo(200);
        assertThat(exits.reconciler().stream().mapToLong(i -> i.calls("DynamoDb.Query")).sum()).isPositive();
        assertThat(exits.billing().shadowMismatches()).isZero();
        assertThat(results.checks()).containsEntry("exitSessionOutcome", "APPLIED 2000 members, 200 exits")
                .containsEntry("segmentDuplicates", 0).containsEntry("segmentDroppedOverLimit", 0);

        // and: the three cold starts succeeded under the runtime client, beside both baselines, and answered every
        // request on-demand and under SnapStart's flow alike
        assertThat(results.coldStarts()).hasSize(3).allSatisfy(c -> {
            assertThat(c.launches()).hasSize(1);
            assertThat(c.bareSdkLaunches().getFirst().response()).contains("\"statusCode\":200");
            assertThat(c.emptyLaunches().getFirst().response()).isEqualTo("\"ok\"");
            assertThat(c.launches().getFirst().requestMs()).hasSize(settings.coldStartRequests());
            assertThat(c.primedLaunches().getFirst().requestMs()).hasSize(settings.coldStartRequests());
            assertThat(c.primedLaunches().getFirst().primed()).isTrue();
            assertThat(c.primedLaunches().getFirst().response()).isEqualTo(c.launches().getFirst().response());
        });
        assertThat(coldStart(results, "WebhookFunction").launches().getFirst().response()).contains("\"statusCode\":200");
        assertThat(coldStart(results, "SenderFunction").launches().getFirst().response()).isEqualTo("{\"batchItemFailures\":[]}");
        assertThat(coldStart(results, "ReconcilerFunction").launches().getFirst().response())
                .isEqualTo("{\"batchItemFailures\":[]}");

        // and: priming (the runtime client running the handlers' org.crac hooks before its restore) loaded most of
        // what the first request otherwise loads: a count of classes (from the JVM's class-load log), not a timing
        assertThat(results.coldStarts()).allSatisfy(c -> {
            assertThat(c.launches().getFirst().classesLoaded().getFirst()).as(c.function() + ": classes, on-demand")
                    .isPositive();
            assertThat(c.primedLaunches().getFirst().classesLoaded().getFirst())
                    .as(c.function() + ": classes the first request loaded after priming vs without")
                    .isLessThan(c.launches().getFirst().classesLoaded().getFirst() / 2);
        });
    }

    private static Benchmark.ColdStartResult coldStart(Benchmark.Results results, String id) {
        return results.coldStarts().stream().filter(c -> c.function().equals(id)).findFirst().orElseThrow();
    }

    private static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("template.yaml")) && Files.isRegularFile(dir.resolve("bench/prices.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("repository root not found");
    }
}
