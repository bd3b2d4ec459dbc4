package io.cohortsync.bench;

import io.cohortsync.segment.SegmentBatch;
import io.cohortsync.segment.SegmentBatcher;
import io.cohortsync.testkit.SegmentStandIn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one workload did and cost, as measured: every invocation (webhook, reconciler, sender), every
 * AWS call of the phase (the event source mappings' included), the billing meter, and what reached
 * Segment.
 *
 * @param changes    real membership changes the workload makes (each must reach Segment once)
 * @param members    members listed in the pages Mixpanel sent
 * @param reconciler the reconciler's invocations: a full sync's exit pass runs there, after the last page
 */
record Phase(String name, String description, int pages, long members, long changes, List<Invocation> webhook,
             List<Invocation> sender, List<Invocation> reconciler, Map<String, Long> calls, Meter.Reading billing,
             SegmentStats segment, double webhookSeconds, double senderSeconds, double reconcilerSeconds, long logBytes,
             long failedRecords) {

    /** AWS calls made by the event source mapping stand-ins: the phase's calls no invocation made. */
    Map<String, Long> eventSourceCalls() {
        Map<String, Long> esm = new TreeMap<>(calls);
        for (Invocation i : invocations()) {
            i.calls().forEach((k, v) -> esm.merge(k, -v, Long::sum));
        }
        esm.values().removeIf(v -> v == 0);
        return esm;
    }

    List<Invocation> invocations() {
        List<Invocation> all = new ArrayList<>(webhook);
        all.addAll(reconciler);
        all.addAll(sender);
        return all;
    }

    /**
     * What reached Segment.
     *
     * @param fullRequests       requests that were closed by a limit (all but the last of each delivery)
     * @param meanMessageBytes   mean encoded identify size
     * @param capacityPerRequest identifies of that size one request can hold under Segment's limits
     */
    record SegmentStats(int requests, long bytes, long identifies, int fullRequests, long identifiesInFullRequests,
                        int maxPerRequest, double meanMessageBytes, int capacityPerRequest, long duplicates,
                        long dropped, int non200) {

        static SegmentStats of(List<SegmentStandIn.RecordedRequest> requests, List<Invocation> sender) {
            long bytes = 0;
            long identifies = 0;
            long dropped = 0;
            long duplicates = 0;
            int max = 0;
            int non200 = 0;
            for (SegmentStandIn.RecordedRequest r : requests) {
                bytes += r.body().length;
                identifies += r.accepted() + r.duplicates();
                duplicates += r.duplicates();
                dropped += r.dropped();
                max = Math.max(max, r.accepted() + r.duplicates());
                non200 += r.status() == 200 ? 0 : 1;
            }
            int full = 0;
            long inFull = 0;
            int index = 0;
            for (Invocation i : sender) {
                for (int k = 0; k < i.segmentRequests(); k++, index++) {
                    if (k < i.segmentRequests() - 1 && index < requests.size()) {
                        full++;
                        inFull += requests.get(index).accepted() + requests.get(index).duplicates();
                    }
                }
            }
            double meanMessage = identifies == 0 ? 0
                    : (double) (bytes - (long) requests.size() * SegmentBatch.ENVELOPE_BYTES - (identifies - requests.size()))
                    / identifies;
            int capacity = meanMessage == 0 ? 0 : (int) Math.min(SegmentBatcher.MAX_MESSAGES,
                    Math.floor((SegmentBatcher.MAX_REQUEST_BYTES - SegmentBatcher.RESERVED_BYTES + 1) / (meanMessage + 1)));
            return new SegmentStats(requests.size(), bytes, identifies, full, inFull, max, meanMessage, capacity,
                    duplicates, dropped, non200);
        }

        double identifiesPerRequest() {
            return requests == 0 ? 0 : (double) identifies / requests;
        }

        double identifiesPerFullRequest() {
            return fullRequests == 0 ? 0 : (double) identifiesInFullRequests / fullRequests;
        }
    }
}
