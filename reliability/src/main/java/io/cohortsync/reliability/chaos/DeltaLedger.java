package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.segment.MessageIds;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's own bookkeeping of every delta the webhook handed to the queue: which change each
 * Segment messageId stands for (so accepted identifies can be decoded into user, version and
 * membership), and which changes were durably queued (so "2xx only after durability" and "nothing
 * lost" can be checked against the table).
 */
public final class DeltaLedger {
    /** One change of one user, whatever name the cohort had when it was observed. */
    public record ChangeKey(CohortRef cohort, String user, long version, boolean member) {
    }

    /** What a messageId stands for. */
    public record Entry(ChangeKey change, String cohortName) {
    }

    private final String traitPrefix;
    private final Map<String, Entry> byMessageId = new ConcurrentHashMap<>();
    private final Set<ChangeKey> durable = ConcurrentHashMap.newKeySet();

    public DeltaLedger(String traitPrefix) {
        this.traitPrefix = traitPrefix;
    }

    public static ChangeKey key(Delta d) {
        return new ChangeKey(d.cohort(), d.distinctId(), d.version(), d.member());
    }

    /** Called before the real queue sees the deltas: even a delta whose send failed half-way is decodable. */
    public void handedOver(Iterable<Delta> deltas) {
        for (Delta d : deltas) {
            byMessageId.putIfAbsent(MessageIds.of(d, traitPrefix), new Entry(key(d), d.cohortName()));
        }
    }

    /** Called once the real queue returned: these are on SQS. */
    public void queued(Iterable<Delta> deltas) {
        for (Delta d : deltas) {
            durable.add(key(d));
        }
    }

    public Entry decode(String messageId) {
        return byMessageId.get(messageId);
    }

    public boolean isQueued(ChangeKey change) {
        return durable.contains(change);
    }

    public String traitPrefix() {
        return traitPrefix;
    }
}
