package io.cohortsync.send;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.segment.DeliveryReport;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What one batch came to, step by step, and the one place where that becomes the SQS answer: a record
 * is acknowledged only when every delta it carries has a fate that {@link DeltaFate#acknowledges} (and,
 * for an undecodable record, its letter is in the DLQ); otherwise it is a batch item failure, with the
 * reason of the earliest step that failed it. Counts only leave it through the accessors below.
 */
public final class SendOutcome {
    private final Decoded decoded;
    private final Map<Delta, Verdict> verdicts;
    private final List<SentMessage> messages;
    private final DeliveryReport segment;
    private final Map<Delta, DeltaFate> fates;
    private final Map<String, DeltaFate> poison;
    private final int deadLettered;
    private final RuntimeException exception;
    private final Map<String, String> failures;

    /**
     * @param verdicts     the table's verdict on each delta it could judge
     * @param messages     the Segment messages built, with their outcomes
     * @param segment      Segment requests and answers (null: none)
     * @param fates        the final fate of every distinct delta (none may be missing)
     * @param poison       the final fate of every undecodable record
     * @param deadLettered letters durably written
     * @param exception    a bug that stopped the batch (null: none); every record then comes back
     */
    SendOutcome(Decoded decoded, Map<Delta, Verdict> verdicts, List<SentMessage> messages, DeliveryReport segment,
                Map<Delta, DeltaFate> fates, Map<String, DeltaFate> poison, int deadLettered,
                RuntimeException exception) {
        this.decoded = decoded;
        this.verdicts = Collections.unmodifiableMap(new LinkedHashMap<>(verdicts));
        this.messages = List.copyOf(messages);
        this.segment = segment;
        this.fates = Collections.unmodifiableMap(new LinkedHashMap<>(fates));
        this.poison = Collections.unmodifiableMap(new LinkedHashMap<>(poison));
        this.deadLettered = deadLettered;
        this.exception = exception;
        if (exception == null && (!this.fates.keySet().equals(decoded.sources().keySet())
                || !this.poison.keySet().equals(decoded.poison().keySet()))) {
            throw new IllegalStateException("every delta and every undecodable record needs exactly one fate");
        }
        this.failures = exception != null ? allFail(decoded.records(), exception) : acknowledgement();
    }

    static SendOutcome crashed(List<QueuedRecord> records, RuntimeException e) {
        return new SendOutcome(new Decoded(records, Map.of(), Map.of(), 0), Map.of(), List.of(), null, Map.of(),
                Map.of(), 0, e);
    }

    /** The acknowledgement rule, applied to each record in order: the first failing step names the reason. */
    private Map<String, String> acknowledgement() {
        Map<String, List<DeltaFate>> byRecord = new LinkedHashMap<>();
        decoded.sources().forEach((d, ids) -> ids.forEach(id ->
                byRecord.computeIfAbsent(id, k -> new ArrayList<>()).add(fates.get(d))));
        poison.forEach((id, fate) -> byRecord.computeIfAbsent(id, k -> new ArrayList<>()).add(fate));
        Map<String, String> failed = new LinkedHashMap<>();
        for (QueuedRecord r : decoded.records()) {
            byRecord.getOrDefault(r.messageId(), List.of()).stream().filter(f -> !DeltaFate.acknowledges(f))
                    .min(Comparator.comparingInt(DeltaFate::order))
                    .ifPresent(f -> failed.putIfAbsent(r.messageId(), DeltaFate.reason(f)));
        }
        return Collections.unmodifiableMap(failed);
    }

    private static Map<String, String> allFail(List<QueuedRecord> records, RuntimeException e) {
        Map<String, String> failed = new LinkedHashMap<>();
        records.forEach(r -> failed.putIfAbsent(r.messageId(), "internal error " + e.getClass().getSimpleName()));
        return Collections.unmodifiableMap(failed);
    }

    /** SQS message id → why it must come back, in record order; every other record is acknowledged. */
    public Map<String, String> failures() {
        return failures;
    }

    /** The ids of the records that must come back (the batch item failures), in record order, each once. */
    public List<String> failedMessageIds() {
        return List.copyOf(failures.keySet());
    }

    public List<QueuedRecord> records() {
        return decoded.records();
    }

    public Map<Delta, DeltaFate> fates() {
        return fates;
    }

    public List<SentMessage> messages() {
        return messages;
    }

    /** Segment requests and answers of the batch, or null when nothing was sent. */
    public DeliveryReport segment() {
        return segment;
    }

    /** A bug that stopped the batch, or null. */
    public RuntimeException exception() {
        return exception;
    }

    public int deltas() {
        return decoded.deltas();
    }

    public int duplicates() {
        return decoded.duplicates();
    }

    public int poison() {
        return decoded.poison().size();
    }

    public long sent() {
        return messages.stream().filter(m -> m.accepted() && !m.clearing()).count();
    }

    /** Of {@link #sent}, the Audience Entered/Exited track events (the rest are identifies). */
    public long tracksSent() {
        return messages.stream().filter(m -> m.accepted() && !m.clearing() && m.track()).count();
    }

    public long wouldSend() {
        return messages.stream().filter(SentMessage::wouldSend).count();
    }

    /** Old names' falses Segment accepted for stale renamed deltas. */
    public long cleared() {
        return messages.stream().filter(m -> m.accepted() && m.clearing()).count();
    }

    /** Deltas the table had moved past, and those withdrawn from a retry once they were. */
    public long stale() {
        return verdicts(Verdict.STALE) + messages.stream().filter(SentMessage::withdrawn)
                .mapToLong(m -> m.deltas().size()).sum();
    }

    public long neverCommitted() {
        return verdicts(Verdict.NEVER_COMMITTED);
    }

    public long requeued() {
        return fates.values().stream().filter(f -> f instanceof DeltaFate.Requeued).count();
    }

    /** Deltas that can never be looked up, and messages Segment refused alone. */
    public long rejected() {
        long unusable = fates.keySet().stream().filter(d -> TableCheck.unusable(d) != null).count();
        return unusable + messages.stream().filter(SentMessage::rejected).count();
    }

    public int deadLettered() {
        return deadLettered;
    }

    /** The longest observed-to-accepted time of a sent delta, in ms; -1 when none was sent. */
    public long lagMs() {
        long lag = -1;
        for (Map.Entry<Delta, DeltaFate> e : fates.entrySet()) {
            if (e.getValue() instanceof DeltaFate.Sent s) {
                lag = Math.max(lag, Duration.between(e.getKey().observedAt(), s.at()).toMillis());
            }
        }
        return lag;
    }

    /** The cohorts of the batch's deltas, sorted. */
    public Set<String> cohortIds() {
        Set<String> ids = new TreeSet<>();
        decoded.sources().keySet().forEach(d -> ids.add(d.cohort().cohortId()));
        return ids;
    }

    /** The webhook call a delta came from: its cohort and the time it observed the change. */
    public record Call(CohortRef cohort, Instant observedAt) {
    }

    /** What reached Segment, per originating call (the sync history's delivery counts). */
    public record Delivered(long sent, long rejected, long wouldSend) {
    }

    /** Each message counts once, for the call of the first delta it announces. */
    public Map<Call, Delivered> deliveredByCall() {
        Map<Call, Delivered> byCall = new LinkedHashMap<>();
        for (SentMessage m : messages) {
            long sent = m.accepted() && !m.clearing() ? 1 : 0;
            long rejected = m.rejected() ? 1 : 0;
            long would = m.wouldSend() ? 1 : 0;
            if (sent + rejected + would > 0) {
                Delta first = m.deltas().getFirst();
                byCall.merge(new Call(first.cohort(), first.observedAt()), new Delivered(sent, rejected, would),
                        (a, b) -> new Delivered(a.sent + b.sent, a.rejected + b.rejected, a.wouldSend + b.wouldSend));
            }
        }
        return byCall;
    }

    private long verdicts(Verdict verdict) {
        return verdicts.values().stream().filter(v -> v == verdict).count();
    }
}
