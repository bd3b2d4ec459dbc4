package io.cohortsync.send;

import io.cohortsync.domain.Delta;
import io.cohortsync.segment.DeliveryReport;
import io.cohortsync.segment.EncodedMessage;
import io.cohortsync.segment.SegmentMessage;
import io.cohortsync.segment.SegmentMessages;
import io.cohortsync.segment.TrackMessage;
import io.cohortsync.segment.MessageOutcome;
import io.cohortsync.segment.SegmentDelivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Step 3, deliver: the deltas to send, and the old names owed a false, as Segment messages, each
 * connection's to its own destination; every delta's fate from its messages' outcomes.
 */
final class SegmentStep {
    static final String OVERTAKEN_RENAME = "a renamed change was overtaken; its old name's false follows";

    private final Function<String, SegmentDelivery> deliveries;
    private final TableCheck table;
    private final SendSettings settings;
    /** How a delta becomes messages under the settings: built once, not per delta. */
    private final SegmentMessages build;

    SegmentStep(Function<String, SegmentDelivery> deliveries, TableCheck table, SendSettings settings) {
        this.deliveries = deliveries;
        this.table = table;
        this.settings = settings;
        this.build = settings.messages();
    }

    /**
     * @param messages every message built, with its outcome
     * @param report   what Segment was asked and answered (null when nothing was sent)
     * @param fates    the fate of every delta given
     */
    record Delivered(List<SentMessage> messages, DeliveryReport report, Map<Delta, DeltaFate> fates) {
        Delivered {
            messages = List.copyOf(messages);
            fates = Collections.unmodifiableMap(new LinkedHashMap<>(fates));
        }
    }

    /** @param clears stale renamed deltas whose old name's false is still owed */
    Delivered deliver(List<Delta> send, List<Delta> clears, Instant deadline) {
        Map<String, List<Delta>> sendBy = new LinkedHashMap<>();
        Map<String, List<Delta>> clearBy = new LinkedHashMap<>();
        send.forEach(d -> sendBy.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>()).add(d));
        clears.forEach(d -> {
            sendBy.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>());
            clearBy.computeIfAbsent(d.cohort().connection(), c -> new ArrayList<>()).add(d);
        });
        List<SentMessage> messages = new ArrayList<>();
        Map<Delta, DeltaFate> fates = new LinkedHashMap<>();
        DeliveryReport report = null;
        for (Map.Entry<String, List<Delta>> c : sendBy.entrySet()) {
            Delivered one = deliverTo(c.getKey(), c.getValue(), clearBy.getOrDefault(c.getKey(), List.of()), deadline);
            messages.addAll(one.messages());
            fates.putAll(one.fates());
            report = DeliveryReport.combine(report, one.report());
        }
        return new Delivered(messages, report, fates);
    }

    private Delivered deliverTo(String connection, List<Delta> send, List<Delta> clears, Instant deadline) {
        Map<String, List<Delta>> byMessageId = new LinkedHashMap<>();
        Map<Delta, List<String>> messageIdsOf = new LinkedHashMap<>();
        Set<String> clearing = new LinkedHashSet<>();
        Set<String> tracks = new LinkedHashSet<>();
        List<EncodedMessage> encoded = new ArrayList<>();
        for (Delta d : send) {
            add(d, messages(d, false), byMessageId, messageIdsOf, encoded, tracks);
        }
        for (Delta d : clears) {
            clearing.addAll(add(d, messages(d, true), byMessageId, messageIdsOf, encoded, tracks));
        }
        Map<Delta, DeltaFate> fates = new LinkedHashMap<>();
        Set<Delta> clearSet = new HashSet<>(clears);
        // A delta these settings make no message of is done: a rename's re-announcement under SEGMENT_CALLS=track
        // (no Audience event for a rename), or a stale one whose old-name false is an identify that mode never sends.
        messageIdsOf.forEach((d, ids) -> {
            if (ids.isEmpty()) {
                fates.put(d, clearSet.contains(d) ? new DeltaFate.Dropped(Verdict.STALE) : new DeltaFate.NothingToSend());
            }
        });
        if (encoded.isEmpty()) {
            return new Delivered(List.of(), null, fates);
        }
        // Dry run: everything up to Segment happened (state checked, messages built and sized); nothing is sent.
        DeliveryReport report = settings.dryRun() ? null : deliveries.apply(connection).deliver(encoded, deadline,
                ids -> stillCurrent(ids, byMessageId, clearing));
        List<SentMessage> messages = new ArrayList<>();
        byMessageId.forEach((id, deltas) -> messages.add(new SentMessage(id, clearing.contains(id), deltas,
                report == null ? null : report.outcomes().get(id), tracks.contains(id))));
        messageIdsOf.forEach((d, ids) -> {
            if (!ids.isEmpty()) {
                fates.put(d, report == null ? new DeltaFate.WouldSend()
                        : fate(d, ids.stream().map(report.outcomes()::get).toList(), clearSet.contains(d)));
            }
        });
        return new Delivered(messages, report, fates);
    }

    /**
     * The Segment messages of one delta ({@link SegmentMessages}: its identify and/or its Audience Entered/Exited
     * track event, as {@code SEGMENT_CALLS} says), or (clearing) only its old name's false. The one place the
     * sender builds messages.
     */
    private List<SegmentMessage> messages(Delta d, boolean clearing) {
        return clearing ? build.clearing(d) : build.of(d);
    }

    /** Deltas of one change observed twice share a messageId: one message stands for all of them. */
    private static List<String> add(Delta d, List<SegmentMessage> built, Map<String, List<Delta>> byMessageId,
                                    Map<Delta, List<String>> messageIdsOf, List<EncodedMessage> encoded,
                                    Set<String> tracks) {
        List<String> ids = new ArrayList<>();
        for (SegmentMessage m : built) {
            List<Delta> same = byMessageId.computeIfAbsent(m.messageId(), k -> new ArrayList<>());
            if (same.isEmpty()) {
                encoded.add(m.encode());
                if (m instanceof TrackMessage) {
                    tracks.add(m.messageId());
                }
            }
            same.add(d);
            ids.add(m.messageId());
        }
        messageIdsOf.put(d, ids);
        return ids;
    }

    /** A delta's fate from its messages' outcomes: the worst of them (unsent, rejected, withdrawn, accepted). */
    private static DeltaFate fate(Delta d, List<MessageOutcome> outcomes, boolean clearing) {
        Instant at = null;
        DeltaFate rejected = null;
        DeltaFate withdrawn = null;
        for (MessageOutcome o : outcomes) {
            switch (o) {
                case MessageOutcome.Unsent u -> {
                    return new DeltaFate.Retry(DeltaFate.Step.SEGMENT, "Segment: " + u.reason());
                }
                case MessageOutcome.Rejected r -> rejected = new DeltaFate.Rejected("Segment rejected the message: "
                        + r.reason());
                // Overtaken while its retry waited. A renamed one still owes its old name's false: the record
                // comes back, and on redelivery the delta is stale and its clearing goes on its own.
                case MessageOutcome.Withdrawn w -> withdrawn = d.previousName() != null
                        ? new DeltaFate.Retry(DeltaFate.Step.SEGMENT, OVERTAKEN_RENAME)
                        : new DeltaFate.Dropped(Verdict.STALE);
                case MessageOutcome.Accepted a -> at = at == null || a.at().isAfter(at) ? a.at() : at;
            }
        }
        if (rejected != null || withdrawn != null) {
            return rejected != null ? rejected : withdrawn;
        }
        return clearing ? new DeltaFate.Dropped(Verdict.STALE) : new DeltaFate.Sent(at);
    }

    /** Of the pending messages, those still worth a retry; an old name's false always is. */
    private Set<String> stillCurrent(Set<String> messageIds, Map<String, List<Delta>> byMessageId,
                                     Set<String> clearing) {
        Set<Delta> pending = new LinkedHashSet<>();
        messageIds.stream().filter(id -> !clearing.contains(id)).forEach(id -> pending.addAll(byMessageId.get(id)));
        Set<Delta> current = table.stillCurrent(pending);
        Set<String> keep = new LinkedHashSet<>();
        messageIds.forEach(id -> {
            if (clearing.contains(id) || byMessageId.get(id).stream().anyMatch(current::contains)) {
                keep.add(id);
            }
        });
        return keep;
    }
}
