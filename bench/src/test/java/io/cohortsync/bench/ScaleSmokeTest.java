package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code make bench-scale}'s own code at tiny sizes (full syncs of 2,000 and 5,000 users, a rename of
 * 3,000 with and without a crash, 100 session ids a pass so every shard needs several), so it cannot
 * rot. Asserts what the design promises and what the bench must have measured, never a timing.
 */
class ScaleSmokeTest {
    @TempDir
    Path out;

    @Test
    void run_checksEveryPromiseAndWritesTheReport_atSmokeSizes() throws Exception {
        // given
        ScaleBench.Settings settings = ScaleBench.Settings.smoke(out);

        // when
        ScaleBench.Results results = ScaleBench.run(settings);
        ScaleReport report = new ScaleReport(results);
        report.write(out);

        // then every full sync exited exactly the absent members, once, after the last page was answered
        assertThat(results.fullSyncs()).hasSize(2).allSatisfy(f -> {
            assertThat(f.stateCorrect()).isTrue();
            assertThat(f.exitsAnnounced()).isEqualTo(f.exits()).isEqualTo(f.users() / 100);
            assertThat(f.exitsRepeated()).isZero();
            assertThat(f.entersAnnounced()).isZero();
            assertThat(f.outcome().status()).isEqualTo(SessionOutcome.Status.APPLIED);
            assertThat(f.outcome().exits()).isEqualTo(f.exits());
            // the pages wrote no membership: the exits are the reconciler's
            assertThat(f.webhook().writeUnitsByKind()).doesNotContainKey(ItemKind.MEMBERSHIP);
            assertThat(f.reconcile().cost().writeUnitsByKind().get(ItemKind.MEMBERSHIP)).isGreaterThanOrEqualTo(f.exits());
            // each page read its 1,000 users in 10 BatchGetItem calls
            assertThat(f.pages()).allSatisfy(p -> assertThat(p.cost().calls("DynamoDb.BatchGetItem")).isEqualTo(10));
            // 100 ids a pass: every shard needed several passes, and each pass streamed the shard's ids again
            assertThat(f.perShardSessionIds()).isGreaterThan(settings.passIds());
            assertThat(f.reconcile().idsStreamed()).isGreaterThan(2L * (f.users() - f.exits()));
            // one count and one apply job per shard, none failed
            assertThat(f.reconcile().invocations()).isEqualTo(2 * Shards.COUNT);
            assertThat(f.reconcile().failed()).isZero();
            assertThat(f.reconcile().heapSamples()).isPositive();
        });

        // and every member of the renamed cohort was announced once, also when a job died mid-chunk
        assertThat(results.renames()).hasSize(2).allSatisfy(r -> assertThat(r.everyMemberOnce()).isTrue());
        ScaleBench.Rename crashed = results.renames().get(1);
        assertThat(crashed.crash()).isTrue();
        assertThat(crashed.reconcile().failed()).isEqualTo(1); // the injected crash happened, and only once
        assertThat(crashed.duplicateCopies()).isPositive(); // the redelivered job queued the uncommitted half again
        assertThat(results.renames().get(0).duplicateCopies()).isZero();
        assertThat(crashed.request().cost().calls("DynamoDb.PutItem")).isZero(); // the rename's request is O(1)

        // and the report has the table, the extrapolated row and the targets, in both files
        assertThat(report.promisesHeld()).isTrue();
        String md = Files.readString(out.resolve("scale.md"));
        assertThat(md).contains("| cohort | pages |").contains("(extrapolated)").contains("| target | value | met | why |");
        JsonNode json = new ObjectMapper().readTree(out.resolve("scale.json").toFile());
        assertThat(json.path("full_syncs")).hasSize(3);
        assertThat(json.path("full_syncs").get(2).path("extrapolated").asBoolean()).isTrue();
        assertThat(json.path("renames")).hasSize(2);
        assertThat(json.path("targets").size()).isEqualTo(report.targets().size()).isGreaterThanOrEqualTo(7);
    }
}
