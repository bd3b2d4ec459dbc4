package io.cohortsync.sender;

import io.cohortsync.domain.SyncHistory;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.send.QueuedRecord;
import io.cohortsync.send.SendOutcome;
import io.cohortsync.segment.DeliveryReport;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The sender's log lines, EMF metrics and sync-history counts, all read from a batch's
 * {@link SendOutcome}: counts, reasons and cohort ids, never a user id or key. Metric names are what
 * template.yaml's alarms and dashboard read.
 */
final class SenderTelemetry {
    private static final int MAX_LOGGED_COHORTS = 20;

    private final JsonLog log;
    private final Supplier<Metrics> metrics;
    private final SyncHistory history;
    private final boolean dryRun;
    private final int maxReceiveCount;
    /** {@code SEGMENT_CALLS} includes track events: the log line then says how many of {@code sent} were tracks. */
    private final boolean tracks;

    SenderTelemetry(JsonLog log, Supplier<Metrics> metrics, SyncHistory history, boolean dryRun, int maxReceiveCount,
                    boolean tracks) {
        this.log = log;
        this.metrics = metrics;
        this.history = history;
        this.dryRun = dryRun;
        this.maxReceiveCount = maxReceiveCount;
        this.tracks = tracks;
    }

    /** The history counts, one log line (and one more for last receives), one EMF line. */
    void report(SendOutcome o, double millis) {
        updateHistory(o);
        logBatch(o, millis);
        logRedrives(o);
        emitMetrics(o);
    }

    /** Adds what was delivered to each originating call's history entry; best effort, never fails the batch. */
    private void updateHistory(SendOutcome o) {
        o.deliveredByCall().forEach((call, d) -> {
            try {
                history.addDelivered(call.cohort(), call.observedAt(), d.sent(), d.rejected(), d.wouldSend());
            } catch (RuntimeException e) {
                // History is for people; the delivery itself is done. Say so and go on.
                log.warn("sync history not updated", Map.of("cohortId", call.cohort().cohortId(),
                        "error", e.getClass().getSimpleName()));
            }
        });
    }

    private void logBatch(SendOutcome o, double millis) {
        DeliveryReport r = o.segment();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("records", o.records().size());
        fields.put("deltas", o.deltas());
        fields.put("duplicates", o.duplicates());
        fields.put("poison", o.poison());
        fields.put("sent", o.sent());
        if (tracks) {
            fields.put("tracksSent", o.tracksSent());
        }
        if (dryRun) {
            fields.put("dryRun", true);
            fields.put("wouldSend", o.wouldSend());
        }
        fields.put("stale", o.stale());
        if (o.cleared() > 0) {
            fields.put("clearedOldNames", o.cleared());
        }
        fields.put("neverCommitted", o.neverCommitted());
        fields.put("requeued", o.requeued());
        fields.put("rejected", o.rejected());
        fields.put("deadLettered", o.deadLettered());
        fields.put("segmentRequests", r == null ? 0 : r.requests());
        fields.put("segmentRequestsByStatus", r == null ? Map.of() : new TreeMap<>(r.requestsByLabel()));
        fields.put("retries", r == null ? 0 : r.retries());
        fields.put("splits", r == null ? 0 : r.splits());
        fields.put("segmentBytes", r == null ? 0 : r.bytesSent());
        fields.put("failures", o.failures().size());
        if (!o.failures().isEmpty()) {
            fields.put("failureReasons", countReasons(o.failures()));
        }
        if (o.lagMs() >= 0) {
            fields.put("endToEndLagMs", o.lagMs());
        }
        fields.put("cohortIds", o.cohortIds().stream().limit(MAX_LOGGED_COHORTS).toList());
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        RuntimeException e = o.exception();
        if (e != null) {
            // Class and first frame only: messages of unexpected exceptions may quote input.
            fields.put("exception", e.getClass().getName());
            fields.put("at", e.getStackTrace().length > 0 ? e.getStackTrace()[0].toString() : "");
            log.error("sender batch handled", fields);
        } else if (!o.failures().isEmpty()) {
            log.warn("sender batch handled", fields);
        } else {
            log.info("sender batch handled", fields);
        }
    }

    /** A failing record at the queue's maxReceiveCount is the last try: SQS dead-letters it next, say why. */
    private void logRedrives(SendOutcome o) {
        Map<String, String> last = new LinkedHashMap<>();
        for (QueuedRecord r : o.records()) {
            String reason = o.failures().get(r.messageId());
            if (reason != null && r.receiveCount() >= maxReceiveCount) {
                last.put(r.messageId(), reason);
            }
        }
        if (!last.isEmpty()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("count", last.size());
            fields.put("maxReceiveCount", maxReceiveCount);
            fields.put("sqsMessageIds", List.copyOf(last.keySet()));
            fields.put("reasons", countReasons(last));
            log.error("failed records reached maxReceiveCount: SQS will move them to the DLQ", fields);
        }
    }

    private void emitMetrics(SendOutcome o) {
        DeliveryReport r = o.segment();
        Map<String, Integer> labels = r == null ? Map.of() : r.requestsByLabel();
        Metrics m = metrics.get();
        m.count("IdentifiesSent", o.sent() - o.tracksSent())
                .count("TracksSent", o.tracksSent())
                .count("DroppedStale", o.stale())
                .count("OldNamesCleared", o.cleared())
                .count("DroppedNeverCommitted", o.neverCommitted())
                .count("Requeued", o.requeued())
                .count("Rejected", o.rejected())
                .count("PoisonMessages", o.poison())
                .count("SegmentRequests", r == null ? 0 : r.requests())
                .count("Segment2xx", byClass(labels, 2))
                .count("Segment4xx", byClass(labels, 4) - labels.getOrDefault("429", 0))
                .count("Segment429", labels.getOrDefault("429", 0))
                .count("Segment5xx", byClass(labels, 5))
                .count("SegmentErrors", labels.getOrDefault("timeout", 0) + labels.getOrDefault("connection", 0))
                .count("SegmentRetries", r == null ? 0 : r.retries())
                .count("BatchItemFailures", o.failures().size())
                .count("WouldSend", o.wouldSend());
        if (o.lagMs() >= 0) {
            m.millis("EndToEndLag", o.lagMs());
        }
        m.flush();
    }

    private static Map<String, Integer> countReasons(Map<String, String> failures) {
        Map<String, Integer> reasons = new TreeMap<>();
        failures.values().forEach(reason -> reasons.merge(reason, 1, Integer::sum));
        return reasons;
    }

    private static int byClass(Map<String, Integer> labels, int statusClass) {
        int n = 0;
        for (Map.Entry<String, Integer> e : labels.entrySet()) {
            if (e.getKey().length() == 3 && e.getKey().charAt(0) == (char) ('0' + statusClass)) {
                n += e.getValue();
            }
        }
        return n;
    }
}
