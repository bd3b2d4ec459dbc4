package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import io.cohortsync.domain.Delta;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Measures what 1,000 deltas cost: Segment requests and bytes, and AWS calls by operation, split by
 * who makes them. Printed so the numbers appear in the build output.
 */
@ExtendWith(MotoExtension.class)
class SenderCostIT {

    @Test
    void handleRequest_costsOneSegmentRequestAndTenReads_per1000Deltas(AwsStack stack) {
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY)) {
            // The function as deployed (environment wiring, sync history on): what a real invocation costs.
            SenderHarness s = SenderHarness.deployed(stack, segment, Map.of());
            Measurement cold = measure(s, segment, "cold", 0);
            Measurement warm = measure(s, segment, "warm", 1000);

            System.out.println("=== sender cost per 1,000 deltas (one page of email distinct ids, one queue message) ===");
            for (Measurement m : List.of(cold, warm)) {
                System.out.printf("%s container: Segment requests=%d, bytes sent=%d (%.0f per delta), queue messages=%d%n",
                        m.label, m.segmentRequests, m.segmentBytes, m.segmentBytes / 1000.0, m.queueMessages);
                System.out.printf("  AWS calls by the sender function:       %s%n", m.senderCalls);
                System.out.printf("  AWS calls by the event source mapping:  %s%n", m.eventSourceCalls);
                System.out.printf("  AWS calls to queue the deltas (webhook): %s%n", m.enqueueCalls);
            }

            assertThat(warm.segmentRequests).isEqualTo(1);
            // UpdateItem: the delivery counts added to the sync history entry of the call (one per call a batch serves)
            assertThat(warm.senderCalls).isEqualTo(Map.of("DynamoDb.BatchGetItem", 10L, "DynamoDb.UpdateItem", 1L));
            assertThat(cold.senderCalls).isEqualTo(Map.of("DynamoDb.BatchGetItem", 10L, "DynamoDb.UpdateItem", 1L,
                    "SecretsManager.GetSecretValue", 1L));
            assertThat(segment.acceptedIdentifies()).hasSize(2000);
            assertThat(s.logText()).doesNotContain("@example.com").doesNotContain("wk-");
        }
    }

    private static Measurement measure(SenderHarness s, SegmentStandIn segment, String label, int from) {
        List<Delta> deltas = Exports.users("user", from, 1000).stream().map(id -> s.delta(id, true, 1)).toList();
        s.commit(deltas);
        int requestsBefore = segment.requests().size();

        AwsRequestCounter.reset();
        s.enqueue(deltas);
        Map<String, Long> enqueueCalls = AwsRequestCounter.snapshot();

        AwsRequestCounter.reset();
        List<Message> messages = s.receive();
        Map<String, Long> receiveCalls = AwsRequestCounter.snapshot();

        AwsRequestCounter.reset();
        SQSBatchResponse response = s.invoke(messages);
        Map<String, Long> senderCalls = AwsRequestCounter.snapshot();
        assertThat(response.getBatchItemFailures()).isEmpty();

        AwsRequestCounter.reset();
        SqsEvents.settle(s.stack.sqs, s.stack.queueUrl, messages, response);
        Map<String, Long> eventSourceCalls = new TreeMap<>(receiveCalls);
        AwsRequestCounter.snapshot().forEach((k, v) -> eventSourceCalls.merge(k, v, Long::sum));

        List<SegmentStandIn.RecordedRequest> requests = segment.requests().subList(requestsBefore, segment.requests().size());
        long bytes = requests.stream().mapToLong(r -> r.body().length).sum();
        return new Measurement(label, requests.size(), bytes, messages.size(), senderCalls, eventSourceCalls, enqueueCalls);
    }

    private record Measurement(String label, int segmentRequests, long segmentBytes, int queueMessages,
                               Map<String, Long> senderCalls, Map<String, Long> eventSourceCalls,
                               Map<String, Long> enqueueCalls) {
    }
}
