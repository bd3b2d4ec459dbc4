package io.cohortsync.cli;

import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * {@code rejected}: what is in a dead-letter queue (the delta queue's, or with {@code --reconcile} the
 * reconcile queue's) and why, without consuming anything. Messages are
 * held while the scan runs (so each is counted once) and all made visible again when it ends.
 */
final class RejectedCommand {
    static final int DEFAULT_LIMIT = 1_000;
    /** Stop reading well before the first messages read reappear on their own ({@link DeadLetterReader#HOLD}). */
    static final Duration MAX_SCAN = DeadLetterReader.HOLD.dividedBy(2);

    private final SqsClient sqs;
    private final Clock clock;
    private final Report out;

    RejectedCommand(SqsClient sqs, Clock clock, Report out) {
        this.sqs = sqs;
        this.clock = clock;
        this.out = out;
    }

    int run(Target target, int limit) {
        return run(target, QueuePair.DELTAS, limit);
    }

    /** @param pair the delta queue's dead-letter queue, or (--reconcile) the reconcile queue's */
    int run(Target target, QueuePair pair, int limit) {
        String dlqUrl = target.get(pair.deadLetterQueue);
        out.println("rejected — " + target.where());
        out.println("  " + pair.deadLetterQueueName() + ": " + dlqUrl);
        DlqSummary summary = new DlqSummary(pair);
        boolean timedOut = false;
        long[] depth;
        int releaseFailures;
        try (DeadLetterReader reader = new DeadLetterReader(sqs, dlqUrl, pair)) {
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
        out.document().put("queue", pair.deadLetterQueueName()).put("queueUrl", dlqUrl)
                .put("visible", depth[0]).put("inFlight", depth[1]).put("stoppedAtLimit", summary.messages() >= limit && depth[0] > limit)
                .put("timedOut", timedOut).put("releaseFailures", releaseFailures);
        summary.toJson(out.document());
        if (summary.isEmpty()) {
            out.println("the " + pair.deadLetterQueueName() + " is empty");
            return 0;
        }
        out.println();
        summary.print(out, "");
        out.println();
        out.println("total: " + summary.totals());
        return 0;
    }
}
