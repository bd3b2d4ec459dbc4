package io.cohortsync.segment;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which Segment calls announce a membership change ({@code SEGMENT_CALLS}): the {@code identify} that sets
 * the trait (the default, as before), the {@code Audience Entered}/{@code Audience Exited} {@code track}
 * event beside it, or the event alone.
 */
public enum SegmentCalls {
    IDENTIFY(true, false),
    IDENTIFY_AND_TRACK(true, true),
    TRACK(false, true);

    private final boolean identifies;
    private final boolean tracks;

    SegmentCalls(boolean identifies, boolean tracks) {
        this.identifies = identifies;
        this.tracks = tracks;
    }

    /** Whether each change is announced with an identify (the trait). */
    public boolean identifies() {
        return identifies;
    }

    /** Whether each change of membership is announced with an Audience Entered/Exited event. */
    public boolean tracks() {
        return tracks;
    }

    /**
     * {@code identify}, {@code track}, or both comma-separated in any order ({@code identify,track}); case and
     * spaces do not matter; empty or null is the default, {@link #IDENTIFY}.
     */
    public static SegmentCalls parse(String value) {
        if (value == null || value.isBlank()) {
            return IDENTIFY;
        }
        Set<String> calls = new TreeSet<>();
        for (String part : value.split(",", -1)) {
            String call = part.strip().toLowerCase(Locale.ROOT);
            if (!call.equals("identify") && !call.equals("track")) {
                throw new IllegalArgumentException("SEGMENT_CALLS must be 'identify', 'identify,track' or 'track', was '"
                        + value + "'");
            }
            calls.add(call);
        }
        return calls.size() == 2 ? IDENTIFY_AND_TRACK : calls.contains("track") ? TRACK : IDENTIFY;
    }

    /** The spelling {@link #parse} reads and the template uses. */
    public String wireName() {
        return switch (this) {
            case IDENTIFY -> "identify";
            case IDENTIFY_AND_TRACK -> "identify,track";
            case TRACK -> "track";
        };
    }
}
