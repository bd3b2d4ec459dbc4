package io.cohortsync.segment;

import java.time.Instant;
import java.util.Objects;

/** What became of one message in a {@link SegmentDelivery}. */
public sealed interface MessageOutcome {

    /** Segment answered 2xx to a request carrying it, at {@code at}. */
    record Accepted(Instant at) implements MessageOutcome {
        public Accepted {
            Objects.requireNonNull(at, "at");
        }
    }

    /** Segment will never take it (oversize, or a 400 for it alone): dead-letter it, do not retry. */
    record Rejected(String reason) implements MessageOutcome {
        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Not sent for a reason that may pass (5xx, 429, timeout, refused key, deadline): retry later. */
    record Unsent(String reason) implements MessageOutcome {
        public Unsent {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Withdrawn before a retry because it was no longer current (a newer change superseded it). */
    record Withdrawn() implements MessageOutcome {
    }
}
