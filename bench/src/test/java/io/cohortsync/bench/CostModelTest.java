package io.cohortsync.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class CostModelTest {
    private static final Prices PRICES = Prices.load(repositoryRoot().resolve("bench/prices.json"));
    /** What the meter reads for a page of 1,000 membership commits (1 KB items): 1,000 units, 1,000 writes. */
    private static final Meter.Reading COMMITS = new Meter.Reading(0, 1000, Map.of(ItemKind.MEMBERSHIP, 1000.0),
            Map.of(ItemKind.MEMBERSHIP, 1000L), Map.of(), 0, Map.of(), Map.of(), 0, 0, 0, 0, 0);

    @Test
    void prices_areTheListPricesPerUnit() {
        assertThat(PRICES.of("dynamodb_write_request_unit")).isEqualTo(0.625e-6, within(1e-15));
        assertThat(PRICES.of("dynamodb_read_request_unit")).isEqualTo(0.125e-6, within(1e-15));
        assertThat(PRICES.of("sqs_standard_request")).isEqualTo(0.40e-6, within(1e-15));
        assertThat(PRICES.of("secrets_manager_api_call")).isEqualTo(5e-6, within(1e-15));
    }

    @Test
    void floor_isOneWriteUnitPerChange() {
        assertThat(new CostModel(PRICES, 1024, 16).floorPerMillion()).isEqualTo(0.625, within(1e-12));
    }

    @Test
    void modeledMs_overlapsCommits_andAddsEveryOtherCallsRoundTrip() {
        // given a 1,000-change page: 10 reads, 1,000 commits, one send, no CPU
        Invocation page = new Invocation("webhook", 0, 0, Map.of("DynamoDb.BatchGetItem", 10L, "DynamoDb.PutItem", 1000L,
                "Sqs.SendMessageBatch", 1L), COMMITS, 1000, 100_000, 0, 0, 200);

        // when / then: 10 x 12 + ceil(1000 / 16) x 6 + 15
        assertThat(new CostModel(PRICES, 1024, 16).modeledMs(page)).isEqualTo(120 + 63 * 6 + 15);
    }

    @Test
    void modeledMs_writesOtherItemsOneAfterAnother_whenTheyAreNotMembership() {
        // given a reconcile chunk: 1 Query, 100 exits (membership), 1 checkpoint PutItem, 1 report UpdateItem
        Meter.Reading billing = new Meter.Reading(0, 102, Map.of(ItemKind.MEMBERSHIP, 100.0, ItemKind.CHECKPOINT, 1.0,
                ItemKind.RECONCILE_SUMMARY, 1.0), Map.of(ItemKind.MEMBERSHIP, 100L, ItemKind.CHECKPOINT, 1L,
                ItemKind.RECONCILE_SUMMARY, 1L), Map.of(), 0, Map.of(), Map.of(), 0, 0, 0, 0, 0);
        Invocation chunk = new Invocation("reconciler", 0, 0, Map.of("DynamoDb.Query", 1L, "DynamoDb.PutItem", 101L,
                "DynamoDb.UpdateItem", 1L), billing, 1, 200, 0, 0, 0);

        // when / then: 30 + ceil(100 / 16) x 6 + 1 x 6 (checkpoint) + 1 x 6 (report)
        assertThat(new CostModel(PRICES, 1024, 16).modeledMs(chunk)).isEqualTo(30 + 7 * 6 + 6 + 6);
    }

    @Test
    void of_pricesUnitsRequestsAndDuration() {
        // given one page that wrote 1,000 units, read 500, sent one SQS request and logged 1 KiB
        Meter.Reading billing = new Meter.Reading(500, 1000, Map.of(ItemKind.MEMBERSHIP, 1000.0),
                Map.of(ItemKind.MEMBERSHIP, 1000L), Map.of(ItemKind.MEMBERSHIP, 500.0), 0, Map.of(),
                Map.of("Sqs.SendMessageBatch", 1L), 1, 0, 50_000, 0, 0);
        Invocation page = new Invocation("webhook", 0, 0, Map.of("DynamoDb.PutItem", 1000L), billing, 1000, 100_000, 1024, 0, 200);
        Phase phase = new Phase("p", "p", 1, 1000, 1000, List.of(page), List.of(), List.of(), page.calls(), billing,
                new Phase.SegmentStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 1024, 0);

        // when
        CostModel.Cost cost = new CostModel(PRICES, 1024, 16).of(phase);

        // then
        assertThat(cost.lines().get("DynamoDB writes")).isEqualTo(1000 * 0.625e-6, within(1e-12));
        assertThat(cost.lines().get("DynamoDB reads")).isEqualTo(500 * 0.125e-6, within(1e-12));
        assertThat(cost.lines().get("SQS")).isEqualTo(0.40e-6, within(1e-12));
        assertThat(cost.lines().get("Lambda requests")).isEqualTo(0.20e-6, within(1e-12));
        assertThat(cost.lines().get("Lambda duration")).isEqualTo(63 * 6 / 1000.0 * 0.0000133334, within(1e-12));
        assertThat(cost.lines().get("API Gateway")).isEqualTo(1e-6, within(1e-12));
    }

    static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("bench/prices.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("repository root not found");
    }
}
