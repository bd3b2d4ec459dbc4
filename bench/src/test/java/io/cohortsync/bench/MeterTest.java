package io.cohortsync.bench;

import org.junit.jupiter.api.Test;

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
    void readingMinus_subtractsEveryCounter() {
        Meter.Reading later = new Meter.Reading(10, 20, 15, 5, 15, 2, 1, java.util.Map.of("DynamoDb.Query", 4.0),
                java.util.Map.of("Sqs.SendMessageBatch", 3L), 3, 300, 2, 0);
        Meter.Reading earlier = new Meter.Reading(4, 5, 5, 0, 5, 0, 0, java.util.Map.of("DynamoDb.Query", 4.0),
                java.util.Map.of("Sqs.SendMessageBatch", 1L), 1, 100, 0, 0);

        Meter.Reading delta = later.minus(earlier);

        assertThat(delta.readUnits()).isEqualTo(6);
        assertThat(delta.writeUnits()).isEqualTo(15);
        assertThat(delta.membershipPuts()).isEqualTo(10);
        assertThat(delta.readUnitsByOp()).isEmpty();
        assertThat(delta.sqsBilledByOp()).containsEntry("Sqs.SendMessageBatch", 2L);
        assertThat(delta.sqsBilledRequests()).isEqualTo(2);
    }
}
