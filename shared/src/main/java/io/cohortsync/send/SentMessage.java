package io.cohortsync.send;

import io.cohortsync.domain.Delta;
import io.cohortsync.segment.MessageOutcome;

import java.util.List;
import java.util.Objects;

/**
 * One Segment message of a batch and what became of it.
 *
 * @param messageId its messageId (deltas of one change observed twice share it: one message stands for all)
 * @param clearing  whether it only sets a renamed cohort's old name to false for a stale delta
 * @param deltas    the deltas it announces (at least one)
 * @param outcome   Segment's answer for it, or null in a dry run (built and sized, never sent)
 * @param track     whether it is an Audience Entered/Exited track event ({@code SEGMENT_CALLS}), not an identify
 */
public record SentMessage(String messageId, boolean clearing, List<Delta> deltas, MessageOutcome outcome,
                          boolean track) {
    public SentMessage {
        Objects.requireNonNull(messageId, "messageId");
        deltas = List.copyOf(deltas);
        if (deltas.isEmpty()) {
            throw new IllegalArgumentException("a message announces at least one delta");
        }
    }

    /** An identify. */
    public SentMessage(String messageId, boolean clearing, List<Delta> deltas, MessageOutcome outcome) {
        this(messageId, clearing, deltas, outcome, false);
    }

    public boolean wouldSend() {
        return outcome == null;
    }

    public boolean accepted() {
        return outcome instanceof MessageOutcome.Accepted;
    }

    public boolean rejected() {
        return outcome instanceof MessageOutcome.Rejected;
    }

    public boolean withdrawn() {
        return outcome instanceof MessageOutcome.Withdrawn;
    }
}
