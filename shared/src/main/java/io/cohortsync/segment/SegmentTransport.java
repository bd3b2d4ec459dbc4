package io.cohortsync.segment;

import java.time.Duration;

/** Port: one POST of a ready-made body to Segment's {@code /v1/batch}. Never throws for I/O trouble. */
public interface SegmentTransport {
    SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout);
}
