package io.cohortsync.segment;

import java.util.HashMap;
import java.util.Map;

/**
 * The outcome of one {@link SegmentDelivery#deliver}: one {@link MessageOutcome} per message id, and
 * what it cost.
 *
 * @param outcomes        message id → outcome, for every message given
 * @param requestsByLabel attempts by status code, {@code timeout} or {@code connection}
 * @param requests        attempts made
 * @param retries         attempts repeated after a failure (429, 5xx, timeout, connection, refused key)
 * @param splits          extra attempts spent halving batches Segment answered 400/413 to
 * @param bytesSent       request body bytes of every attempt
 */
public record DeliveryReport(Map<String, MessageOutcome> outcomes, Map<String, Integer> requestsByLabel,
                             int requests, int retries, int splits, long bytesSent) {
    public DeliveryReport {
        outcomes = Map.copyOf(outcomes);
        requestsByLabel = Map.copyOf(requestsByLabel);
    }

    /** Both reports as one (deliveries to several destinations in one invocation); null is nothing. */
    public static DeliveryReport combine(DeliveryReport a, DeliveryReport b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        Map<String, MessageOutcome> outcomes = new HashMap<>(a.outcomes);
        outcomes.putAll(b.outcomes);
        Map<String, Integer> labels = new HashMap<>(a.requestsByLabel);
        b.requestsByLabel.forEach((k, v) -> labels.merge(k, v, Integer::sum));
        return new DeliveryReport(outcomes, labels, a.requests + b.requests, a.retries + b.retries,
                a.splits + b.splits, a.bytesSent + b.bytesSent);
    }
}
