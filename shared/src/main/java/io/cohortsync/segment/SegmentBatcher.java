package io.cohortsync.segment;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Packs messages, in order, into as few {@code /v1/batch} requests as Segment's limits allow. Segment
 * answers 400 to a request over 500 KB or holding a message over 32 KB, and silently drops every
 * message after the 2,500th, so all three limits are hard. "KB" is read as 1,000 bytes (the stricter
 * reading), and {@link #RESERVED_BYTES} is kept free for the envelope and {@code sentAt}.
 *
 * <p>With our identify shape (≈ 200 bytes at least, ≈ 260 with an email user id) the 500 KB limit
 * binds first, at about 2,000 messages; the 2,500 cap matters only for smaller messages.
 */
public final class SegmentBatcher {
    public static final int MAX_REQUEST_BYTES = 500_000;
    public static final int MAX_MESSAGES = 2_500;
    public static final int MAX_MESSAGE_BYTES = 32_000;
    /** Room for {@code {"batch":[…],"sentAt":"…"}} ({@value SegmentBatch#ENVELOPE_BYTES} bytes) with margin. */
    public static final int RESERVED_BYTES = 256;

    private SegmentBatcher() {
    }

    /** What {@link #pack} made: requests to send, and messages that can never be sent. */
    public record Packing(List<SegmentBatch> batches, List<Oversize> oversize) {
        public Packing {
            batches = List.copyOf(batches);
            oversize = List.copyOf(oversize);
        }
    }

    /** A message Segment would refuse for its size alone; it must not be sent (it would fail its whole batch). */
    public record Oversize(EncodedMessage message, String reason) {
        public Oversize {
            Objects.requireNonNull(message, "message");
            Objects.requireNonNull(reason, "reason");
        }
    }

    public static Packing pack(List<EncodedMessage> messages) {
        List<SegmentBatch> batches = new ArrayList<>();
        List<Oversize> oversize = new ArrayList<>();
        List<EncodedMessage> current = new ArrayList<>();
        int currentBytes = 0; // messages plus separating commas
        int budget = MAX_REQUEST_BYTES - RESERVED_BYTES;
        for (EncodedMessage m : messages) {
            if (m.size() > MAX_MESSAGE_BYTES) {
                oversize.add(new Oversize(m, "message of " + m.size() + " bytes exceeds Segment's "
                        + MAX_MESSAGE_BYTES + "-byte limit per message"));
                continue;
            }
            int added = m.size() + (current.isEmpty() ? 0 : 1);
            if (!current.isEmpty() && (current.size() == MAX_MESSAGES || currentBytes + added > budget)) {
                batches.add(new SegmentBatch(current));
                current = new ArrayList<>();
                currentBytes = 0;
                added = m.size();
            }
            current.add(m);
            currentBytes += added;
        }
        if (!current.isEmpty()) {
            batches.add(new SegmentBatch(current));
        }
        return new Packing(batches, oversize);
    }
}
