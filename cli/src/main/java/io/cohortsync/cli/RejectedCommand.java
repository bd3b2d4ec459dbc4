package io.cohortsync.cli;

import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * {@code rejected}: what is in the dead-letter queue and why, without consuming anything. Messages are
 * held while the scan runs (so each is counted once) and all made visible again when it ends.
 */
final class RejectedCommand {
    static final int DEFAULT_LIMIT = 1_000;
    /** Stop reading well before the first messages read reappear on their own ({@link DeadLetterReader#HOLD}). */
    static final Duration MAX_SCAN = DeadLetterReader.HOLD.dividedBy(2);

    private final SqsClient sqs;
    private final Clock clock;
    private final PrintStream out;

    RejectedCommand(SqsClient sqs, Clock clock, PrintStream out) {
        this.sqs = sqs;
        this.clock = clock;
        this.out = out;
    }

    int run(Target target, int limit) {
        String dlqUrl = target.get(Resource.DEAD_LETTER_QUEUE);
        out.println("rejected — " + target.where());
        out.println("  dead-letter queue: " + dlqUrl);
        DlqSummary summary = new DlqSummary();
        boolean timedOut = false;
        long[] depth;
        int releaseFailures;
        try (DeadLetterReader reader = new DeadLetterReader(sqs, dlqUrl)) {
            depth = reader.depth();
            Instant stopAt = clock.instant().plus(MAX_SCAN);
            while (summary.messages() < limit) {
                if (clock.instant().isAfter(stopAt)) {
                    timedOut = true;
                    break;
                }
                List<DlqMessage> batch = reader.next(limit - summary.messages());
                if (batch.isEmpty()) {
                    break;
                }
                batch.forEach(summary::add);
            }
            reader.releaseAll();
            releaseFailures = reader.releaseFailures();
        }
        out.println("about " + depth[0] + " visible" + (depth[1] > 0 ? ", " + depth[1] + " in flight (being read elsewhere)" : "")
                + "; read " + Words.count(summary.messages(), "message") + ", all made visible again (nothing consumed)");
        if (summary.messages() >= limit && depth[0] > limit) {
            out.println("stopped at --limit " + limit + "; about " + (depth[0] - limit) + " more not read");
        }
        if (timedOut) {
            out.println("stopped after " + MAX_SCAN.toSeconds() + " s of reading; run again with a smaller --limit for a quicker look");
        }
        if (releaseFailures > 0) {
            out.println(releaseFailures + " could not be made visible at once; SQS shows them again within "
                    + DeadLetterReader.HOLD.toMinutes() + " minutes");
        }
        if (summary.isEmpty()) {
            out.println("the dead-letter queue is empty");
            return 0;
        }
        out.println();
        summary.print(out, "");
        out.println();
        out.println("total: " + Words.count(summary.messages(), "message") + ", "
                + Words.count(summary.deltas(), "delta") + ", " + Words.count(summary.cohorts(), "cohort"));
        return 0;
    }
}
