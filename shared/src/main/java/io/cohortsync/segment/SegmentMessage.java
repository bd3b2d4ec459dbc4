package io.cohortsync.segment;

/**
 * A message of a {@code /v1/batch} request that cohort-sync sends: an {@link IdentifyMessage} or a
 * {@link TrackMessage}. Each has a deterministic {@code messageId} ({@link MessageIds}) and serializes
 * once, so batching counts its exact bytes and every retry sends the same bytes.
 */
public sealed interface SegmentMessage permits IdentifyMessage, TrackMessage {
    /** The message's {@code messageId}: its identity for Segment's deduplication and for outcomes. */
    String messageId();

    /** The message as compact UTF-8 JSON. */
    EncodedMessage encode();
}
