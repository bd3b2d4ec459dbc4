package io.cohortsync.bench;

import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.DeadLetter;
import io.cohortsync.domain.DeadLetterQueue;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.segment.SegmentResponse;
import io.cohortsync.segment.SegmentTransport;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the CPU probe needs besides testkit's {@link io.cohortsync.testkit.InMemoryState} (the
 * membership, session, cohort and reconcile ports): a delta queue that still encodes the deltas (the
 * SQS adapter does that work before sending) and then drops them, so memory stays flat over thousands
 * of pages; a dead-letter queue that is never used; and a Segment transport that accepts the finished
 * request body.
 */
final class InMemoryPorts {
    private InMemoryPorts() {
    }

    /** Encodes like the SQS adapter, then drops the bodies. */
    static final class Queue implements DeltaQueue, DelayedDeltaQueue {
        long bodies;

        @Override
        public void enqueue(List<Delta> deltas) {
            bodies += DeltaCodec.encode(deltas, SqsDeltaQueue.MAX_MESSAGE_BYTES).size();
        }

        @Override
        public void enqueueDelayed(List<Delta> deltas, Duration delay) {
            enqueue(deltas);
        }
    }

    static final class NoDeadLetters implements DeadLetterQueue {
        @Override
        public void send(List<DeadLetter> letters) {
            // Nothing is rejected in the probe; a letter would only be dropped here.
        }
    }

    /** Segment accepting everything at once. */
    static final class Accepting implements SegmentTransport {
        long bytes;

        @Override
        public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
            bytes += body.length;
            return new SegmentResponse.Answered(200, Optional.empty());
        }
    }
}
