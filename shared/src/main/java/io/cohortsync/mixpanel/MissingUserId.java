package io.cohortsync.mixpanel;

import java.util.Locale;

/**
 * What identity mapping ({@code USER_ID_PROPERTY}) does with a member that lacks a usable value of the
 * configured property ({@code MISSING_USER_ID}). Either way the member is counted.
 */
public enum MissingUserId {
    /** Skip the member (counted as {@link SkipReason#MISSING_USER_ID}): the default, as before. */
    SKIP,
    /**
     * Sync the member, known to Segment by {@code anonymousId} = the Mixpanel distinct id and no {@code userId}
     * (counted as {@code anonymous}). The member's exit later goes to the same {@code anonymousId}.
     */
    ANONYMOUS;

    /** {@code skip} or {@code anonymous} (any case); empty or null is the default, {@link #SKIP}. */
    public static MissingUserId parse(String value) {
        if (value == null || value.isBlank()) {
            return SKIP;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "skip" -> SKIP;
            case "anonymous" -> ANONYMOUS;
            default -> throw new IllegalArgumentException("MISSING_USER_ID must be 'skip' or 'anonymous', was '"
                    + value + "'");
        };
    }

    /** The spelling {@link #parse} reads. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
