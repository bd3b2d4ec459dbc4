package io.cohortsync.bench;

import java.util.Map;

/**
 * One handler invocation as measured: wall time, process CPU time, and what it cost.
 *
 * @param function        {@code webhook}, {@code reconciler} or {@code sender}
 * @param wallMs          handler wall time on this machine (against moto)
 * @param cpuMs           CPU time this JVM spent during the invocation (our code, the SDK, GC)
 * @param calls           AWS calls by {@code Service.Operation} made inside the invocation
 * @param billing         DynamoDB units and SQS billed requests of those calls
 * @param units           members in the page (webhook), jobs in the batch (reconciler) or deltas in the batch (sender)
 * @param requestBytes    the request payload (API Gateway meters HTTP APIs per 512 KB)
 * @param logBytes        bytes the function wrote to its log (stdout)
 * @param segmentRequests Segment requests made inside the invocation
 * @param status          the webhook's HTTP status, or the number of batch item failures (reconciler, sender)
 */
record Invocation(String function, double wallMs, double cpuMs, Map<String, Long> calls, Meter.Reading billing,
                  int units, long requestBytes, long logBytes, int segmentRequests, int status) {

    long calls(String op) {
        return calls.getOrDefault(op, 0L);
    }
}
