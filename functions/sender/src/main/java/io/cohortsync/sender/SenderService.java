package io.cohortsync.sender;

import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.observability.JsonLog;
import io.cohortsync.observability.Metrics;
import io.cohortsync.segment.DeliveryReport;
import io.cohortsync.segment.EncodedMessage;
import io.cohortsync.segment.MessageOutcome;
import io.cohortsync.segment.SegmentDelivery;
import io.cohortsync.segment.SegmentMessage;
import io.cohortsync.segment.SegmentMessages;
import io.cohortsync.segment.TrackMessage;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One SQS batch of delta messages → Segment. Every delta is checked against the stored membership
 * (the source of truth) and only a delta that equals it is sent, so order and duplicates on the
 * queue do not matter. This is the one place where an outcome becomes an SQS answer: a record is
 * acknowledged once each of its deltas is sent, dropped for a reason, re-queued, or dead-lettered
 * with its reason; anything transient makes it a batch item failure, so SQS brings it back.
 */
final class SenderService {
    /**
     * Kept back from the invocation's remaining time for what follows the Segment calls (re-queue and
     * dead-letter writes, the log line): an SQS call takes well under a second, 5 s leaves room for
     * the SDK's own retries.
     */
    static final Duration DEADLINE_MARGIN = Duration.ofSeconds(5);
    private static final int MAX_LOGGED_COHORTS = 20;
    /** DynamoDB's limit on a sort key (the distinct id). */
    static final int MAX_DISTINCT_ID_BYTES = 1_024;

    private final SenderConfig config;
    private final MembershipStore store;
    private final DelayedDeltaQueue requeue;
    private final DeadLetterQueue deadLetters;
    private final Function<String, SegmentDelivery> deliveries;
    private final Clock clock;
    private final JsonLog log;
    private final Supplier<Metrics> metrics;
    private final SyncHistory history;
    private final CohortStore cohorts;

    /**
     * @param deliveries the delivery (write key, Segment URL) for each connection
     * @param cohorts    read for the cohort's current name when a stale delta must still clear an old name
     */
    SenderService(SenderConfig config, MembershipStore store, CohortStore cohorts, DelayedDeltaQueue requeue,
                  DeadLetterQueue deadLetters, Function<String, SegmentDelivery> deliveries, Clock clock, JsonLog log,
                  Supplier<Metrics> metrics, SyncHistory history) {
        this.history = history;
        this.cohorts = cohorts;
        this.config = config;
        this.store = store;
        this.requeue = requeue;
        this.deadLetters = deadLetters;
        this.deliveries = deliveries;
        this.clock = clock;
        this.log = log;
        this.metrics = metrics;
    }

    SenderResult handle(SenderRequest request) {
        long started = System.nanoTime();
        Instant deadline = clock.instant().plus(request.remainingTime()).minus(DEADLINE_MARGIN);
        Invocation inv = new Invocation(request.records());
        try {
            process(inv, deadline);
        } catch (RuntimeException e) {
            // Our own bug. Which records finished is unknown, so all come back: every step is idempotent
            // (state check, deterministic messageIds), a redelivery costs requests but no wrong data.
            inv.exception = e;
            inv.records.forEach(r -> inv.fail(r.messageId(), "internal error " + e.getClass().getSimpleName()));
        }
        report(inv, (System.nanoTime() - started) / 1e6);
        return new SenderResult(inv.failedIds());
    }

    private void process(Invocation inv, Instant deadline) {
        // Distinct deltas → the records carrying them (a delta queued twice is handled once).
        Map<Delta, Set<String>> sources = new LinkedHashMap<>();
        List<DeadLetter> poison = new ArrayList<>();
        Set<String> waitingOnLetters = new LinkedHashSet<>();
        for (QueuedRecord r : inv.records) {
            try {
                List<Delta> deltas = DeltaCodec.decode(r.body());
                inv.deltas += deltas.size();
                deltas.forEach(d -> sources.computeIfAbsent(d, k -> new LinkedHashSet<>()).add(r.messageId()));
            } catch (MalformedDeltaException e) {
                // Poison: it can never succeed, so it goes to the DLQ verbatim with the reason, and is acknowledged.
                inv.poison++;
                poison.add(new DeadLetter(r.body(), "undecodable delta message: " + e.getMessage(), r.messageId()));
                waitingOnLetters.add(r.messageId());
            }
        }
        inv.duplicates = inv.deltas - sources.size();
        sources.keySet().forEach(d -> inv.cohortIds.add(d.cohort().cohortId()));
        // A delta that can never be looked up or sent would fail the whole batch's read, every time.
        for (var it = sources.keySet().iterator(); it.hasNext(); ) {
            Delta d = it.next();
            String unusable = unusable(d);
            if (unusable != null) {
                inv.rejected++;
                inv.rejectedByReason.computeIfAbsent(unusable, k -> new ArrayList<>()).add(d);
                waitingOnLetters.addAll(sources.get(d));
                it.remove();
            }
        }

        Map<CohortRef, Map<String, Membership>> stored;
        try {
            stored = readState(sources.keySet());
        } catch (DependencyUnavailableException e) {
            sources.values().forEach(ids -> ids.forEach(id -> inv.fail(id, e.getMessage())));
            writeDeadLetters(inv, poison, waitingOnLetters);
            return;
        }
        List<Delta> send = new ArrayList<>();
        List<Delta> later = new ArrayList<>();
        Map<Delta, Membership> staleRenamed = new LinkedHashMap<>();
        Instant now = clock.instant();
        for (Delta d : sources.keySet()) {
            Membership m = stored.get(d.cohort()).getOrDefault(d.distinctId(), Membership.ABSENT);
            switch (Verdict.of(d, m, now, config.neverCommittedAfter())) {
                case SEND -> send.add(d);
                case STALE -> {
                    inv.stale++;
                    if (d.previousName() != null) {
                        staleRenamed.put(d, m);
                    }
                }
                case NOT_YET_COMMITTED -> later.add(d);
                case NEVER_COMMITTED -> inv.neverCommitted++;
            }
        }
        requeue(inv, later, sources);
        List<Delta> clears = clears(inv, staleRenamed, sources);
        deliver(inv, send, clears, sources, deadline, waitingOnLetters);
        writeDeadLetters(inv, poison, waitingOnLetters);
        updateHistory(inv);
    }

    /** Adds what was delivered to each originating call's history entry; best effort, never fails the batch. */
    private void updateHistory(Invocation inv) {
        inv.deliveredByCall.forEach((call, counts) -> {
            try {
                history.addDelivered(call.cohort(), call.observedAt(), counts[0], counts[1], counts[2]);
            } catch (RuntimeException e) {
                // History is for people; the delivery itself is done. Say so and go on.
                log.warn("sync history not updated", Map.of("cohortId", call.cohort().cohortId(),
                        "error", e.getClass().getSimpleName()));
            }
        });
    }

    /** One read per cohort (BatchGetItem, 100 keys a call); eventually consistent, which halves its cost. */
    private Map<CohortRef, Map<String, Membership>> readState(Set<Delta> deltas) {
        Map<CohortRef, Set<String>> ids = new LinkedHashMap<>();
        deltas.forEach(d -> ids.computeIfAbsent(d.cohort(), c -> new LinkedHashSet<>()).add(d.distinctId()));
        Map<CohortRef, Map<String, Membership>> stored = new HashMap<>();
        ids.forEach((cohort, users) -> stored.put(cohort, store.read(cohort, users, false)));
        return stored;
    }

    private void requeue(Invocation inv, List<Delta> later, Map<Delta, Set<String>> sources) {
        if (later.isEmpty()) {
            return;
        }
        try {
            requeue.enqueueDelayed(later, config.aheadRetryDelay());
            inv.requeued += later.size();
        } catch (DependencyUnavailableException e) {
            later.forEach(d -> sources.get(d).forEach(id -> inv.fail(id, "re-queue failed: " + e.getMessage())));
        }
    }

    /**
     * Stale deltas that name a previous name: their own identify can no longer be sent, but the old
     * name's false must still reach the profile (README "The rename rule"), unless the cohort carries
     * that name again and the user is a member (then {@code true} is right). A failed read of the
     * cohort's name brings the records back.
     */
    private List<Delta> clears(Invocation inv, Map<Delta, Membership> staleRenamed, Map<Delta, Set<String>> sources) {
        if (staleRenamed.isEmpty()) {
            return List.of();
        }
        Map<CohortRef, String> currentNames = new HashMap<>();
        List<Delta> clears = new ArrayList<>();
        for (Map.Entry<Delta, Membership> stale : staleRenamed.entrySet()) {
            Delta d = stale.getKey();
            String current;
            try {
                current = currentNames.computeIfAbsent(d.cohort(),
                        c -> cohorts.load(c).map(CohortState::name).orElse(d.cohortName()));
            } catch (DependencyUnavailableException e) {
                sources.get(d).forEach(id -> inv.fail(id, e.getMessage()));
                continue;
            }
            // Renamed back to the old name: a member keeps it true; anyone else needs its false (chaos: a user
            // who left under the second name kept the first name's true once the cohort was renamed back).
            if (!d.previousName().equals(current) || !stale.getValue().member()) {
                clears.add(d);
            }
        }
        return clears;
    }

    /** Each connection's deltas go to its own Segment destination. */
    private void deliver(Invocation inv, List<Delta> send, List<Delta> clears, Map<Delta, Set<String>> sources,
                         Instant deadline, Set<String> waitingOnLetters) {
        Map<String, List<Delta>> byConnection = new LinkedHashMap<>();
        Map<String, List<Delta>> clearsByConnection = new LinkedHashMap<>();
        send.forEach(d -> byConnection.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>()).add(d));
        clears.forEach(d -> {
            byConnection.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>());
            clearsByConnection.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>()).add(d);
        });
        byConnection.forEach((connection, deltas) -> deliverTo(deliveries.apply(connection), inv, deltas,
                clearsByConnection.getOrDefault(connection, List.of()), sources, deadline, waitingOnLetters));
    }

    private void deliverTo(SegmentDelivery delivery, Invocation inv, List<Delta> send, List<Delta> clears,
                           Map<Delta, Set<String>> sources, Instant deadline, Set<String> waitingOnLetters) {
        // Deltas of one change observed twice share a messageId: one message stands for all of them.
        Map<String, List<Delta>> byMessageId = new LinkedHashMap<>();
        Set<String> clearing = new LinkedHashSet<>();
        Set<String> tracks = new LinkedHashSet<>();
        List<EncodedMessage> messages = new ArrayList<>();
        SegmentMessages build = config.segmentMessages();
        for (Delta d : send) {
            for (SegmentMessage m : build.of(d)) {
                add(m, d, byMessageId, messages);
                if (m instanceof TrackMessage) {
                    tracks.add(m.messageId());
                }
            }
        }
        for (Delta d : clears) {
            for (SegmentMessage m : build.clearing(d)) {
                add(m, d, byMessageId, messages);
                clearing.add(m.messageId());
            }
        }
        if (messages.isEmpty()) {
            return;
        }
        if (config.dryRun()) {
            // Dry run: everything up to Segment happened (state checked, messages built and sized);
            // nothing is sent. The messages are acknowledged; a backfill sends the state later.
            inv.wouldSend += messages.size();
            byMessageId.values().forEach(ds -> inv.delivered(ds.get(0), 0, 0, 1));
            return;
        }
        DeliveryReport report = delivery.deliver(messages, deadline, ids -> stillCurrent(ids, byMessageId, clearing));
        inv.report = DeliveryReport.combine(inv.report, report);
        report.outcomes().forEach((messageId, outcome) -> {
            List<Delta> deltas = byMessageId.get(messageId);
            switch (outcome) {
                case MessageOutcome.Accepted a when clearing.contains(messageId) -> inv.cleared++;
                case MessageOutcome.Accepted a -> {
                    inv.sent++;
                    inv.tracksSent += tracks.contains(messageId) ? 1 : 0;
                    inv.delivered(deltas.get(0), 1, 0, 0);
                    deltas.forEach(d -> inv.lagMs = Math.max(inv.lagMs, Duration.between(d.observedAt(), a.at()).toMillis()));
                }
                case MessageOutcome.Rejected r -> {
                    inv.rejected++;
                    inv.delivered(deltas.get(0), 0, 1, 0);
                    inv.rejectedByReason.computeIfAbsent("Segment rejected the message: " + r.reason(),
                            k -> new ArrayList<>()).addAll(deltas);
                    deltas.forEach(d -> waitingOnLetters.addAll(sources.get(d)));
                }
                case MessageOutcome.Unsent u ->
                        deltas.forEach(d -> sources.get(d).forEach(id -> inv.fail(id, "Segment: " + u.reason())));
                case MessageOutcome.Withdrawn w -> {
                    inv.stale += deltas.size();
                    // A renamed delta overtaken while its retry waited: its old name's false is still owed. The
                    // record comes back, and on redelivery the delta is stale and its clearing goes on its own.
                    deltas.stream().filter(d -> d.previousName() != null).forEach(d -> sources.get(d).forEach(
                            id -> inv.fail(id, "a renamed change was overtaken; its old name's false follows")));
                }
            }
        });
    }

    private static void add(SegmentMessage m, Delta d, Map<String, List<Delta>> byMessageId,
                            List<EncodedMessage> messages) {
        List<Delta> same = byMessageId.computeIfAbsent(m.messageId(), k -> new ArrayList<>());
        if (same.isEmpty()) {
            messages.add(m.encode());
        }
        same.add(d);
    }

    /**
     * Why a delta can never be looked up or sent, or null. DynamoDB refuses an empty sort key or one over
     * 1,024 bytes (the distinct id is the sort key); Segment needs a non-empty userId.
     */
    static String unusable(Delta d) {
        if (d.distinctId().isEmpty()) {
            return "invalid delta: empty distinct id";
        }
        if (d.distinctId().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_DISTINCT_ID_BYTES) {
            return "invalid delta: distinct id over " + MAX_DISTINCT_ID_BYTES + " bytes";
        }
        return null;
    }

    /**
     * Before a retry that followed a wait: which messages still equal the stored state. A failed
     * re-read keeps them all: the first read found them current, and a re-check is only a tightening.
     */
    private Set<String> stillCurrent(Set<String> messageIds, Map<String, List<Delta>> byMessageId,
                                     Set<String> clearing) {
        Map<Delta, String> pending = new LinkedHashMap<>();
        Set<String> keep = new LinkedHashSet<>();
        messageIds.forEach(id -> {
            if (clearing.contains(id)) {
                keep.add(id); // an old name's false stays true to send whatever the table says now
            } else {
                byMessageId.get(id).forEach(d -> pending.put(d, id));
            }
        });
        Map<CohortRef, Map<String, Membership>> stored;
        try {
            stored = readState(pending.keySet());
        } catch (DependencyUnavailableException e) {
            return messageIds;
        }
        Instant now = clock.instant();
        pending.forEach((d, id) -> {
            Membership m = stored.get(d.cohort()).getOrDefault(d.distinctId(), Membership.ABSENT);
            if (Verdict.of(d, m, now, config.neverCommittedAfter()) == Verdict.SEND) {
                keep.add(id);
            }
        });
        return keep;
    }

    private void writeDeadLetters(Invocation inv, List<DeadLetter> poison, Set<String> waitingOnLetters) {
        List<DeadLetter> letters = new ArrayList<>(poison);
        // Rejected deltas go to the DLQ in the delta format, so a replay onto the delta queue just works.
        inv.rejectedByReason.forEach((reason, deltas) -> DeltaCodec.encode(deltas, SqsDeltaQueue.MAX_MESSAGE_BYTES)
                .forEach(body -> letters.add(new DeadLetter(body, reason, ""))));
        if (letters.isEmpty()) {
            return;
        }
        try {
            deadLetters.send(letters);
            inv.deadLettered += letters.size();
        } catch (DependencyUnavailableException e) {
            waitingOnLetters.forEach(id -> inv.fail(id, "dead-letter write failed: " + e.getMessage()));
        }
    }

    /** One log line and one EMF line per invocation: counts, reasons and cohort ids, never a user id or key. */
    private void report(Invocation inv, double millis) {
        DeliveryReport r = inv.report;
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("records", inv.records.size());
        fields.put("deltas", inv.deltas);
        fields.put("duplicates", inv.duplicates);
        fields.put("poison", inv.poison);
        fields.put("sent", inv.sent);
        if (config.segmentCalls().tracks()) {
            fields.put("tracksSent", inv.tracksSent);
        }
        if (config.dryRun()) {
            fields.put("dryRun", true);
            fields.put("wouldSend", inv.wouldSend);
        }
        fields.put("stale", inv.stale);
        if (inv.cleared > 0) {
            fields.put("clearedOldNames", inv.cleared);
        }
        fields.put("neverCommitted", inv.neverCommitted);
        fields.put("requeued", inv.requeued);
        fields.put("rejected", inv.rejected);
        fields.put("deadLettered", inv.deadLettered);
        fields.put("segmentRequests", r == null ? 0 : r.requests());
        fields.put("segmentRequestsByStatus", r == null ? Map.of() : new TreeMap<>(r.requestsByLabel()));
        fields.put("retries", r == null ? 0 : r.retries());
        fields.put("splits", r == null ? 0 : r.splits());
        fields.put("segmentBytes", r == null ? 0 : r.bytesSent());
        fields.put("failures", inv.failures.size());
        if (!inv.failures.isEmpty()) {
            Map<String, Integer> reasons = new TreeMap<>();
            inv.failures.values().forEach(reason -> reasons.merge(reason, 1, Integer::sum));
            fields.put("failureReasons", reasons);
        }
        if (inv.lagMs >= 0) {
            fields.put("endToEndLagMs", inv.lagMs);
        }
        fields.put("cohortIds", inv.cohortIds.stream().limit(MAX_LOGGED_COHORTS).toList());
        fields.put("durationMs", Math.round(millis * 10) / 10.0);
        if (inv.exception != null) {
            // Class and first frame only: messages of unexpected exceptions may quote input.
            fields.put("exception", inv.exception.getClass().getName());
            fields.put("at", inv.exception.getStackTrace().length > 0 ? inv.exception.getStackTrace()[0].toString() : "");
        }
        if (inv.exception != null) {
            log.error("sender batch handled", fields);
        } else if (!inv.failures.isEmpty()) {
            log.warn("sender batch handled", fields);
        } else {
            log.info("sender batch handled", fields);
        }
        logRedrives(inv);

        Metrics m = metrics.get();
        m.count("IdentifiesSent", inv.sent - inv.tracksSent)
                .count("TracksSent", inv.tracksSent)
                .count("DroppedStale", inv.stale)
                .count("OldNamesCleared", inv.cleared)
                .count("DroppedNeverCommitted", inv.neverCommitted)
                .count("Requeued", inv.requeued)
                .count("Rejected", inv.rejected)
                .count("PoisonMessages", inv.poison)
                .count("SegmentRequests", r == null ? 0 : r.requests())
                .count("Segment2xx", r == null ? 0 : byClass(r, 2))
                .count("Segment4xx", r == null ? 0 : byClass(r, 4) - r.requestsByLabel().getOrDefault("429", 0))
                .count("Segment429", r == null ? 0 : r.requestsByLabel().getOrDefault("429", 0))
                .count("Segment5xx", r == null ? 0 : byClass(r, 5))
                .count("SegmentErrors", r == null ? 0 : r.requestsByLabel().getOrDefault("timeout", 0)
                        + r.requestsByLabel().getOrDefault("connection", 0))
                .count("SegmentRetries", r == null ? 0 : r.retries())
                .count("BatchItemFailures", inv.failures.size())
                .count("WouldSend", inv.wouldSend);
        if (inv.lagMs >= 0) {
            m.millis("EndToEndLag", inv.lagMs);
        }
        m.flush();
    }

    /** A failing record at the queue's maxReceiveCount is the last try: SQS dead-letters it next, say why. */
    private void logRedrives(Invocation inv) {
        Map<String, String> last = new LinkedHashMap<>();
        for (QueuedRecord r : inv.records) {
            String reason = inv.failures.get(r.messageId());
            if (reason != null && r.receiveCount() >= config.maxReceiveCount()) {
                last.put(r.messageId(), reason);
            }
        }
        if (!last.isEmpty()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("count", last.size());
            fields.put("maxReceiveCount", config.maxReceiveCount());
            fields.put("sqsMessageIds", List.copyOf(last.keySet()));
            Map<String, Integer> reasons = new TreeMap<>();
            last.values().forEach(reason -> reasons.merge(reason, 1, Integer::sum));
            fields.put("reasons", reasons);
            log.error("failed records reached maxReceiveCount: SQS will move them to the DLQ", fields);
        }
    }

    private static int byClass(DeliveryReport r, int statusClass) {
        int n = 0;
        for (Map.Entry<String, Integer> e : r.requestsByLabel().entrySet()) {
            if (e.getKey().length() == 3 && e.getKey().charAt(0) == (char) ('0' + statusClass)) {
                n += e.getValue();
            }
        }
        return n;
    }

    /** Bookkeeping of one invocation. */
    /** The webhook call a delta came from: its cohort and the time it observed the change. */
    private record Call(CohortRef cohort, Instant observedAt) {
    }

    private static final class Invocation {
        /** Per originating call: [sent, rejected, would send]. */
        final Map<Call, long[]> deliveredByCall = new LinkedHashMap<>();
        int wouldSend;

        void delivered(Delta d, long sent, long rejected, long wouldSend) {
            long[] c = deliveredByCall.computeIfAbsent(new Call(d.cohort(), d.observedAt()), k -> new long[3]);
            c[0] += sent;
            c[1] += rejected;
            c[2] += wouldSend;
        }

        final List<QueuedRecord> records;
        /** SQS message id → the first reason it failed, in the order failures happened. */
        final Map<String, String> failures = new LinkedHashMap<>();
        final Set<String> cohortIds = new TreeSet<>();
        /** Deltas that can never be sent, by reason: dead-lettered at the end. */
        final Map<String, List<Delta>> rejectedByReason = new TreeMap<>();
        int deltas;
        int duplicates;
        int poison;
        int sent;
        int tracksSent;
        int stale;
        int cleared;
        int neverCommitted;
        int requeued;
        int rejected;
        int deadLettered;
        long lagMs = -1;
        DeliveryReport report;
        RuntimeException exception;

        Invocation(List<QueuedRecord> records) {
            this.records = records;
        }

        void fail(String messageId, String reason) {
            failures.putIfAbsent(messageId, reason);
        }

        /** In record order, each once. */
        List<String> failedIds() {
            return records.stream().map(QueuedRecord::messageId).filter(failures::containsKey).distinct().toList();
        }
    }
}
