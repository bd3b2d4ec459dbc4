package io.cohortsync.segment;

import io.cohortsync.domain.Delta;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Segment messages that announce one delta, under the deployment's settings: the one place that decides
 * which calls a change becomes (README "Entered/Exited events").
 * <ul>
 *   <li>an identify (trait {@code <prefix><cohort name>}), when {@link SegmentCalls#identifies()};</li>
 *   <li>an {@code Audience Entered}/{@code Audience Exited} track event, when {@link SegmentCalls#tracks()} and the
 *       membership changed: a rename's re-announcement ({@link Delta#reannounced()}) changes the trait's name,
 *       not the membership, so it has no event;</li>
 *   <li>a stale renamed delta's clearing identify (old name's trait false) only when identifies are sent: with
 *       track events alone no trait was ever set.</li>
 * </ul>
 * Every message has its own deterministic messageId ({@link MessageIds}): per change and per call type.
 *
 * @param calls       which calls announce a change ({@code SEGMENT_CALLS})
 * @param traitPrefix {@code TRAIT_PREFIX}
 * @param namespace   {@code MESSAGE_ID_NAMESPACE}, or null
 */
public record SegmentMessages(SegmentCalls calls, String traitPrefix, String namespace) {
    public SegmentMessages {
        Objects.requireNonNull(calls, "calls");
        Objects.requireNonNull(traitPrefix, "traitPrefix");
    }

    /** The messages announcing {@code delta}, identify first; empty when none applies (track only, a rename). */
    public List<SegmentMessage> of(Delta delta) {
        List<SegmentMessage> messages = new ArrayList<>(2);
        if (calls.identifies()) {
            messages.add(IdentifyMessage.of(delta, traitPrefix, namespace));
        }
        if (calls.tracks() && !delta.reannounced()) {
            messages.add(TrackMessage.of(delta, traitPrefix, namespace));
        }
        return messages;
    }

    /**
     * The old name's clearing identify for a stale delta that names a previous name
     * ({@link IdentifyMessage#clearing}); none when identifies are off.
     */
    public List<SegmentMessage> clearing(Delta delta) {
        return calls.identifies() ? List.of(IdentifyMessage.clearing(delta, traitPrefix, namespace)) : List.of();
    }
}
