package io.cohortsync.send;

import java.time.Instant;
import java.util.Objects;

/**
 * What became of one delta (or one undecodable record) in a batch: the value each step of the
 * {@link SenderCore} hands on. Only {@link #acknowledges} turns fates into an SQS answer.
 */
public sealed interface DeltaFate {

    /** The steps that can make a record come back, in the order they run (the first one names the reason). */
    enum Step { READ, REQUEUE, RENAME, SEGMENT, DEAD_LETTER }

    /** Segment accepted its identify at {@code at}. */
    record Sent(Instant at) implements DeltaFate {
        public Sent {
            Objects.requireNonNull(at, "at");
        }
    }

    /** Dry run: checked, built and sized, not sent. */
    record WouldSend() implements DeltaFate {
    }

    /** Not to be sent, ever: {@link Verdict#STALE} (old name's false sent, if one was owed) or {@link Verdict#NEVER_COMMITTED}. */
    record Dropped(Verdict verdict) implements DeltaFate {
        public Dropped {
            if (verdict != Verdict.STALE && verdict != Verdict.NEVER_COMMITTED) {
                throw new IllegalArgumentException("only a stale or never committed delta is dropped, not " + verdict);
            }
        }
    }

    /**
     * Current, but the settings make no Segment message of it: a rename's re-announcement when
     * {@code SEGMENT_CALLS=track} (membership did not change, so no Audience event; no identify is sent).
     */
    record NothingToSend() implements DeltaFate {
    }

    /** Ahead of the table: durably back on the queue, delayed, for another look. */
    record Requeued() implements DeltaFate {
    }

    /** Can never be sent (unusable id, Segment refused it alone, undecodable): owed to the DLQ, not yet there. */
    record Rejected(String reason) implements DeltaFate {
        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Rejected, and its letter is durably in the DLQ with {@code reason}. */
    record DeadLettered(String reason) implements DeltaFate {
        public DeadLettered {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Something transient stopped it at {@code step}: its records come back (SQS redelivers them). */
    record Retry(Step step, String reason) implements DeltaFate {
        public Retry {
            Objects.requireNonNull(step, "step");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * The acknowledgement rule (promise 5, nothing silently lost): a record may be acknowledged on a
     * delta's account only when the delta was sent, would be sent (dry run), has nothing to send, is obsolete,
     * is back on the queue, or is safely in the DLQ. A {@link Rejected} one is not: only its dead letter makes it so.
     */
    static boolean acknowledges(DeltaFate fate) {
        return switch (fate) {
            case Sent s -> true;
            case WouldSend w -> true;
            case NothingToSend n -> true;
            case Dropped d -> true;
            case Requeued r -> true;
            case DeadLettered d -> true;
            case Rejected r -> false;
            case Retry r -> false;
        };
    }

    /** Why a record comes back on this fate's account (only for fates that do not acknowledge). */
    static String reason(DeltaFate fate) {
        return switch (fate) {
            case Retry r -> r.reason();
            case Rejected r -> "rejected but not dead-lettered: " + r.reason();
            default -> throw new IllegalArgumentException(fate + " acknowledges");
        };
    }

    /** Order of the reasons: by step; a rejected delta never dead-lettered sorts last. */
    static int order(DeltaFate fate) {
        return fate instanceof Retry r ? r.step().ordinal() : Step.values().length;
    }
}
