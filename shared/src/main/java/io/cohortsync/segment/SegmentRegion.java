package io.cohortsync.segment;

import java.net.URI;
import java.util.Locale;

/**
 * Where a workspace's data must go. Since April 2025 Segment rejects data sent to the wrong region,
 * and an EU write key on the US host can fail silently, so the region is configuration, never guessed.
 */
public enum SegmentRegion {
    US(URI.create("https://api.segment.io")),
    EU(URI.create("https://events.eu1.segmentapis.com"));

    private final URI baseUrl;

    SegmentRegion(URI baseUrl) {
        this.baseUrl = baseUrl;
    }

    public URI baseUrl() {
        return baseUrl;
    }

    /** {@code US} or {@code EU}, any case. */
    public static SegmentRegion parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Segment region must be US or EU, was '" + value + "'");
        }
    }
}
