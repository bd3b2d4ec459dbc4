package io.cohortsync.segment;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** What one {@code /v1/batch} attempt came to: an HTTP answer, a timeout, or no connection at all. */
public sealed interface SegmentResponse {

    /** A label for logs and metrics: the status code, {@code timeout} or {@code connection}. */
    String label();

    /**
     * Segment answered.
     *
     * @param retryAfter the {@code Retry-After} header as a wait from now, when present and parseable
     */
    record Answered(int status, Optional<Duration> retryAfter) implements SegmentResponse {
        public Answered {
            Objects.requireNonNull(retryAfter, "retryAfter");
        }

        @Override
        public String label() {
            return Integer.toString(status);
        }
    }

    /** No answer within the request timeout. Segment may still have accepted the batch (messageIds make a resend safe). */
    record TimedOut() implements SegmentResponse {
        @Override
        public String label() {
            return "timeout";
        }
    }

    /**
     * The request could not be made or was cut off (DNS, refused, reset).
     *
     * @param error the exception's class name only (a message might carry a URL or an address)
     */
    record Unreachable(String error) implements SegmentResponse {
        @Override
        public String label() {
            return "connection";
        }
    }
}
