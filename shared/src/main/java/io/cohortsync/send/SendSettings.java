package io.cohortsync.send;

import io.cohortsync.segment.SegmentCalls;
import io.cohortsync.segment.SegmentMessages;

import java.time.Duration;
import java.util.Objects;

/**
 * What the sender's rules need of its configuration.
 *
 * @param traitPrefix         prefix of every trait key ({@code "Mixpanel - "})
 * @param messageIdNamespace  part of every messageId (null: none), so two deployments never share ids
 * @param neverCommittedAfter a delta still ahead of the table this long after it was observed is dropped
 * @param aheadRetryDelay     how long a not-yet-committed delta waits on the queue before another look
 * @param dryRun              check and build everything, send nothing to Segment
 * @param calls               which Segment calls a change makes ({@code SEGMENT_CALLS}): identify, track, or both
 */
public record SendSettings(String traitPrefix, String messageIdNamespace, Duration neverCommittedAfter,
                           Duration aheadRetryDelay, boolean dryRun, SegmentCalls calls) {
    public SendSettings {
        Objects.requireNonNull(traitPrefix, "traitPrefix");
        Objects.requireNonNull(neverCommittedAfter, "neverCommittedAfter");
        Objects.requireNonNull(aheadRetryDelay, "aheadRetryDelay");
        Objects.requireNonNull(calls, "calls");
    }

    /** Identifies only, the default. */
    public SendSettings(String traitPrefix, String messageIdNamespace, Duration neverCommittedAfter,
                        Duration aheadRetryDelay, boolean dryRun) {
        this(traitPrefix, messageIdNamespace, neverCommittedAfter, aheadRetryDelay, dryRun, SegmentCalls.IDENTIFY);
    }

    /** How a delta becomes Segment messages under these settings. */
    public SegmentMessages messages() {
        return new SegmentMessages(calls, traitPrefix, messageIdNamespace);
    }
}
