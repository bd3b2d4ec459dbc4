package io.cohortsync.segment;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The messages of one {@code /v1/batch} request. The body is {@code {"batch":[…],"sentAt":"…"}};
 * {@code sentAt} is stamped per attempt (Segment uses it to correct client clock skew), so the body is
 * built at send time from the already-encoded messages.
 */
public record SegmentBatch(List<EncodedMessage> messages) {
    private static final byte[] OPEN = "{\"batch\":[".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SENT_AT = "],\"sentAt\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "\"}".getBytes(StandardCharsets.US_ASCII);
    /** Bytes of the body outside the messages and their commas: the fixed envelope plus a 24-char sentAt. */
    public static final int ENVELOPE_BYTES = OPEN.length + SENT_AT.length + 24 + CLOSE.length;

    public SegmentBatch {
        Objects.requireNonNull(messages, "messages");
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("messages must not be empty");
        }
        messages = List.copyOf(messages);
    }

    public int size() {
        return messages.size();
    }

    /** The exact body length {@link #body} produces. */
    public int bodyBytes() {
        int bytes = ENVELOPE_BYTES + messages.size() - 1;
        for (EncodedMessage m : messages) {
            bytes += m.size();
        }
        return bytes;
    }

    public byte[] body(Instant sentAt) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(bodyBytes());
        out.writeBytes(OPEN);
        for (int i = 0; i < messages.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(messages.get(i).json());
        }
        out.writeBytes(SENT_AT);
        out.writeBytes(IdentifyMessage.TIMESTAMP.format(sentAt).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(CLOSE);
        return out.toByteArray();
    }

    /** The two halves (the first one the larger by at most one); only for batches of two or more. */
    public List<SegmentBatch> halves() {
        if (messages.size() < 2) {
            throw new IllegalStateException("a single message cannot be split");
        }
        int mid = (messages.size() + 1) / 2;
        return List.of(new SegmentBatch(messages.subList(0, mid)),
                new SegmentBatch(messages.subList(mid, messages.size())));
    }

    /** The same batch without the given messages, or null when none is left. */
    SegmentBatch without(Set<String> messageIds) {
        List<EncodedMessage> kept = messages.stream().filter(m -> !messageIds.contains(m.messageId())).toList();
        return kept.isEmpty() ? null : kept.size() == messages.size() ? this : new SegmentBatch(kept);
    }
}
