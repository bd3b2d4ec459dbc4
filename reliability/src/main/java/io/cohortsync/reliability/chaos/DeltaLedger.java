package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.segment.MessageIds;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's own bookkeeping of every delta the webhook and the reconciler handed to the delta queue:
 * which change each Segment messageId stands for (so accepted identifies can be decoded into user,
 * version, membership and names), and which changes were durably queued (so "2xx only after
 * durability" and "nothing lost" can be checked against the table). A delta that names a previous name
 * also stands for the sender's separate clearing message ({@link MessageIds#clearing}: that name's
 * trait false), which the sender sends when the delta itself turned stale.
 */
public final class DeltaLedger {
    /** One change of one user, whatever name the cohort had when it was observed. */
    public record ChangeKey(CohortRef cohort, String user, long version, boolean member) {
    }

    /**
     * What a messageId stands for.
     *
     * @param previousName the old name whose trait the message sets false, or null
     * @param clearing     the sender's clearing message: only {@code previousName}'s false, not the change itself
     */
    public record Entry(ChangeKey change, String cohortName, String previousName, boolean clearing) {
    }

    private final String traitPrefix;
    private final Map<String, Entry> byMessageId = new ConcurrentHashMap<>();
    private final Set<ChangeKey> durable = ConcurrentHashMap.newKeySet();
    private final Map<String, Set<String>> namesByCohort = new ConcurrentHashMap<>();
    /** Every delta handed over, in order, with who queued it: a failing schedule's user histories. */
    private final List<String> handovers = Collections.synchronizedList(new ArrayList<>());

    public DeltaLedger(String traitPrefix) {
        this.traitPrefix = traitPrefix;
    }

    public static ChangeKey key(Delta d) {
        return new ChangeKey(d.cohort(), d.distinctId(), d.version(), d.member());
    }

    /** Called before the real queue sees the deltas: even a delta whose send failed half-way is decodable. */
    public void handedOver(Iterable<Delta> deltas) {
        handedOver("", deltas);
    }

    /** As {@link #handedOver(Iterable)}, noting the port that queued them ({@code queue.enqueue}, {@code deltas.enqueue}). */
    public void handedOver(String port, Iterable<Delta> deltas) {
        for (Delta d : deltas) {
            handovers.add(d.cohort().cohortId() + "|" + d.distinctId() + "\t" + port + " v" + d.version()
                    + (d.member() ? " in" : " out") + " name=" + d.cohortName()
                    + (d.previousName() == null ? "" : " previous=" + d.previousName()) + " at " + d.observedAt());
            byMessageId.putIfAbsent(MessageIds.of(d, traitPrefix), new Entry(key(d), d.cohortName(), d.previousName(),
                    false));
            Set<String> names = namesByCohort.computeIfAbsent(d.cohort().cohortId(),
                    c -> Collections.synchronizedSet(new TreeSet<>()));
            names.add(d.cohortName());
            if (d.previousName() != null) {
                names.add(d.previousName());
                byMessageId.putIfAbsent(MessageIds.clearing(d, traitPrefix, null),
                        new Entry(key(d), d.cohortName(), d.previousName(), true));
            }
        }
    }

    /** Called once the real queue returned: these are on SQS. */
    public void queued(Iterable<Delta> deltas) {
        for (Delta d : deltas) {
            durable.add(key(d));
        }
    }

    /** The deltas handed over for one (cohort, user), in order (for a failing schedule's diagnostics). */
    public List<String> history(String cohortId, String user) {
        String key = cohortId + "|" + user + "\t";
        synchronized (handovers) {
            return handovers.stream().filter(h -> h.startsWith(key)).map(h -> h.substring(key.length())).toList();
        }
    }

    public Entry decode(String messageId) {
        return byMessageId.get(messageId);
    }

    public boolean isQueued(ChangeKey change) {
        return durable.contains(change);
    }

    /** Every name any delta of the cohort carried (as its name or as the previous one). */
    public Set<String> names(String cohortId) {
        Set<String> names = namesByCohort.get(cohortId);
        if (names == null) {
            return Set.of();
        }
        synchronized (names) {
            return Set.copyOf(names);
        }
    }

    public String traitPrefix() {
        return traitPrefix;
    }
}
