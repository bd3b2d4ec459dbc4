package io.cohortsync.send;

import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Step 1, decode: a batch's records as distinct deltas, each with the records that carry it (a delta
 * queued twice is handled once), and the records that are not delta messages at all.
 *
 * @param records the batch, in order
 * @param sources each distinct delta → the SQS message ids carrying it, in first-seen order
 * @param poison  undecodable record's message id → why (it can never succeed: it goes to the DLQ verbatim)
 * @param deltas  deltas decoded, duplicates included
 */
public record Decoded(List<QueuedRecord> records, Map<Delta, Set<String>> sources, Map<String, String> poison,
                      int deltas) {
    public Decoded {
        records = List.copyOf(records);
        Map<Delta, Set<String>> copy = new LinkedHashMap<>();
        sources.forEach((d, ids) -> copy.put(d, Collections.unmodifiableSet(new LinkedHashSet<>(ids))));
        sources = Collections.unmodifiableMap(copy);
        poison = Collections.unmodifiableMap(new LinkedHashMap<>(poison));
    }

    public static Decoded of(List<QueuedRecord> records) {
        Map<Delta, Set<String>> sources = new LinkedHashMap<>();
        Map<String, String> poison = new LinkedHashMap<>();
        int deltas = 0;
        for (QueuedRecord r : records) {
            try {
                List<Delta> decoded = DeltaCodec.decode(r.body());
                deltas += decoded.size();
                decoded.forEach(d -> sources.computeIfAbsent(d, k -> new LinkedHashSet<>()).add(r.messageId()));
            } catch (MalformedDeltaException e) {
                poison.put(r.messageId(), "undecodable delta message: " + e.getMessage());
            }
        }
        return new Decoded(records, sources, poison, deltas);
    }

    /** Deltas that repeated another of the batch. */
    public int duplicates() {
        return deltas - sources.size();
    }

    /** The body of a record (for its dead letter). */
    String body(String messageId) {
        return records.stream().filter(r -> r.messageId().equals(messageId)).findFirst().orElseThrow().body();
    }
}
