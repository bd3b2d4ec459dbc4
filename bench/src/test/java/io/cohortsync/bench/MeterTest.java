package io.cohortsync.bench;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MeterTest {

    @Test
    void chunks_billsEachStarted64KiBOfPayload_andAtLeastOne() {
        assertThat(Meter.chunks(0)).isEqualTo(1);
        assertThat(Meter.chunks(1)).isEqualTo(1);
        assertThat(Meter.chunks(65_536)).isEqualTo(1);
        assertThat(Meter.chunks(65_537)).isEqualTo(2);
        assertThat(Meter.chunks(262_144)).isEqualTo(4);
    }

    @Test
    void readingMinus_subtractsEveryCounter_andPlusAddsThemBack() {
        // given
        Meter.Reading later = new Meter.Reading(10, 20, Map.of(ItemKind.MEMBERSHIP, 15.0, ItemKind.SESSION_IDS, 5.0),
                Map.of(ItemKind.MEMBERSHIP, 15L, ItemKind.SESSION_IDS, 2L), Map.of(ItemKind.MEMBERSHIP, 10.0), 1,
                Map.of("DynamoDb.Query", 4.0), Map.of("Sqs.SendMessageBatch", 3L), 3, 1, 300, 2, 0);
        Meter.Reading earlier = new Meter.Reading(4, 5, Map.of(ItemKind.MEMBERSHIP, 5.0), Map.of(ItemKind.MEMBERSHIP, 5L),
                Map.of(ItemKind.MEMBERSHIP, 4.0), 0, Map.of("DynamoDb.Query", 4.0), Map.of("Sqs.SendMessageBatch", 1L), 1, 0,
                100, 0, 0);

        // when
        Meter.Reading delta = later.minus(earlier);

        // then
        assertThat(delta.readUnits()).isEqualTo(6);
        assertThat(delta.writeUnits()).isEqualTo(15);
        assertThat(delta.membershipWrites()).isEqualTo(10);
        assertThat(delta.membershipWriteUnits()).isEqualTo(10.0);
        assertThat(delta.sessionWrites()).isEqualTo(2);
        assertThat(delta.sessionWriteUnits()).isEqualTo(5.0);
        assertThat(delta.readUnits(ItemKind.MEMBERSHIP)).isEqualTo(6.0);
        assertThat(delta.readUnitsByOp()).isEmpty();
        assertThat(delta.sqsBilledByOp()).containsEntry("Sqs.SendMessageBatch", 2L);
        assertThat(delta.sqsBilledRequests()).isEqualTo(2);
        assertThat(delta.deltaMessagesSent()).isEqualTo(1);
        assertThat(delta.sqsJobMessagesSent()).isEqualTo(1);
        assertThat(earlier.plus(delta)).isEqualTo(later);
    }

    @Test
    void itemKind_tellsTheTablesItemsApart_byTheirKeys() {
        assertThat(ItemKind.of("M#2195193#1457721#0a", "u@x.io")).isEqualTo(ItemKind.MEMBERSHIP);
        assertThat(ItemKind.of("M!eu-app#2195193#1457721#0f", "u@x.io")).isEqualTo(ItemKind.MEMBERSHIP);
        assertThat(ItemKind.of("M#2195193#1457721", "u@x.io")).isEqualTo(ItemKind.LEGACY_MEMBERSHIP);
        assertThat(ItemKind.of("M#2195193#a%23b", "u@x.io")).isEqualTo(ItemKind.LEGACY_MEMBERSHIP);
        assertThat(ItemKind.of("S#2195193#1457721#s1", "P#0000001")).isEqualTo(ItemKind.SESSION_RECEIPT);
        assertThat(ItemKind.of("S#2195193#1457721#s1", "I#0a#0000001#0")).isEqualTo(ItemKind.SESSION_IDS);
        assertThat(ItemKind.of("S#2195193#1457721#s1", "OUTCOME")).isEqualTo(ItemKind.SESSION_OUTCOME);
        assertThat(ItemKind.of("C#2195193#1457721", "META")).isEqualTo(ItemKind.COHORT);
        assertThat(ItemKind.of("R#2195193#1457721", "C#EXIT#000000000001#EXIT_COUNT#03")).isEqualTo(ItemKind.CHECKPOINT);
        assertThat(ItemKind.of("R#2195193#1457721", "S#EXIT#000000000001")).isEqualTo(ItemKind.RECONCILE_SUMMARY);
        assertThat(ItemKind.of("H#2195193#1457721", "2026-12-01T10:00:00.000Z")).isEqualTo(ItemKind.HISTORY);
        assertThat(ItemKind.of("whatever", "x")).isEqualTo(ItemKind.OTHER);
    }

    @Test
    void updateExpressions_applySetIfNotExistsAddAndRemove_likeDynamoDb() {
        // given a reconcile summary after one shard reported
        Map<String, AttributeValue> item = Map.of("pk", AttributeValue.fromS("R#p#c"), "sk", AttributeValue.fromS("S#EXIT#1"),
                "phase", AttributeValue.fromS("COUNTING"), "counted", AttributeValue.fromSs(List.of("00")),
                "members", AttributeValue.fromN("10"), "old", AttributeValue.fromS("x"));

        // when the second shard reports (DynamoReconcileStore.report's expression)
        Map<String, AttributeValue> next = UpdateExpressions.apply(item,
                "SET kind = :kind, #p = if_not_exists(#p, :counting), n = n0 + :one REMOVE old ADD counted :shard, members :m",
                Map.of("#p", "phase"), Map.of(":kind", AttributeValue.fromS("EXIT"), ":counting", AttributeValue.fromS("COUNTING"),
                        ":one", AttributeValue.fromN("1"), ":shard", AttributeValue.fromSs(List.of("01")),
                        ":m", AttributeValue.fromN("5")));

        // then: set, kept, removed, added; n0 does not exist, so "n0 + :one" is not understood
        assertThat(next).isNull();
        Map<String, AttributeValue> understood = UpdateExpressions.apply(item,
                "SET kind = :kind, #p = if_not_exists(#p, :counting) REMOVE old ADD counted :shard, members :m",
                Map.of("#p", "phase"), Map.of(":kind", AttributeValue.fromS("EXIT"), ":counting", AttributeValue.fromS("APPLY"),
                        ":shard", AttributeValue.fromSs(List.of("01")), ":m", AttributeValue.fromN("5")));
        assertThat(understood).containsEntry("kind", AttributeValue.fromS("EXIT"))
                .containsEntry("phase", AttributeValue.fromS("COUNTING"))
                .containsEntry("counted", AttributeValue.fromSs(List.of("00", "01")))
                .containsEntry("members", AttributeValue.fromN("15"))
                .doesNotContainKey("old");
        assertThat(item).containsKey("old"); // the input is not changed
    }

    @Test
    void updateExpressions_growTheItem_soTheWriteIsBilledOnTheLargerSize() {
        // given a membership item just under 1 KB (a long distinct id), marked by the race rule
        String id = "u".repeat(1001);
        Map<String, AttributeValue> item = Map.of("pk", AttributeValue.fromS("M#p#c#00"), "sk", AttributeValue.fromS(id),
                "m", AttributeValue.fromBool(true), "v", AttributeValue.fromN("1"), "n", AttributeValue.fromN("1"));
        int before = ItemSize.of(item);

        // when
        Map<String, AttributeValue> marked = UpdateExpressions.apply(item, "SET e = :e", Map.of(),
                Map.of(":e", AttributeValue.fromN("3")));

        // then: 1,021 bytes before, 1,024 after ("e" and one number byte pair): still one unit; one more
        // byte would make it two
        assertThat(before).isEqualTo(1021);
        assertThat(ItemSize.of(marked)).isEqualTo(before + 1 + 2);
        assertThat(DynamoBilling.write(before, ItemSize.of(marked))).isEqualTo(1.0);
        assertThat(DynamoBilling.write(before, ItemSize.of(marked) + 1)).isEqualTo(2.0);
    }

    @Test
    void billing_followsDynamoDbsRules() {
        assertThat(DynamoBilling.write(0, 1)).isEqualTo(1.0);
        assertThat(DynamoBilling.write(1500, 100)).isEqualTo(2.0);
        assertThat(DynamoBilling.transactionalWrite(100, 100)).isEqualTo(2.0);
        assertThat(DynamoBilling.read(0, false)).isEqualTo(0.5);
        assertThat(DynamoBilling.read(4097, true)).isEqualTo(2.0);
        assertThat(DynamoBilling.query(1000 * 52, true)).isEqualTo(13.0);
        assertThat(DynamoBilling.query(1000 * 52, false)).isEqualTo(6.5);
    }
}
