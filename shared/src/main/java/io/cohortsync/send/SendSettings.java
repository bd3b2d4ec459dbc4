package io.cohortsync.send;

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
 */
public record SendSettings(String traitPrefix, String messageIdNamespace, Duration neverCommittedAfter,
                           Duration aheadRetryDelay, boolean dryRun) {
    public SendSettings {
        Objects.requireNonNull(traitPrefix, "traitPrefix");
        Objects.requireNonNull(neverCommittedAfter, "neverCommittedAfter");
        Objects.requireNonNull(aheadRetryDelay, "aheadRetryDelay");
    }
}
