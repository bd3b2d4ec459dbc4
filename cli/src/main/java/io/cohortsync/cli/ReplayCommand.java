package io.cohortsync.cli;

import io.cohortsync.aws.SqsBatchSender;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code replay}: dead-letter queue → delta queue, or with {@code --reconcile} reconcile dead-letter
 * queue → reconcile queue. A message is sent to the work queue first and deleted from the dead-letter
 * queue only after SQS confirmed that send, so a failure anywhere leaves it in the dead-letter queue
 * (or, if only the delete failed, in both: a duplicate the sender or the reconciler handles). Messages
 * that are not messages of that queue (delta messages, reconcile jobs), and messages that arrived after
 * the replay started, stay.
 */
final class ReplayCommand {
    private final SqsClient sqs;
    private final Clock clock;
    private final Report out;
    private final ProgressReporter progress;

    ReplayCommand(SqsClient sqs, Clock clock, Report out, ProgressReporter progress) {
        this.sqs = sqs;
        this.clock = clock;
        this.out = out;
        this.progress = progress;
    }

    /** With the text report on {@code out} and no progress lines. */
    ReplayCommand(SqsClient sqs, Clock clock, PrintStream out) {
        this(sqs, clock, Report.text(out), ProgressReporter.silent());
    }

    /** @return 0 when every message that should move did, else 1 */
    int run(Target target, boolean dryRun, int max) {
        return run(target, QueuePair.DELTAS, dryRun, max);
    }

    /** As above, for the delta queue's pair or (--reconcile) the reconcile queue's. */
    int run(Target target, QueuePair pair, boolean dryRun, int max) {
        String dlqUrl = target.get(pair.deadLetterQueue);
        String queueUrl = target.get(pair.queue);
        String from = "from " + pair.deadLetterQueueName() + ": ";
        String to = "to " + pair.queueName() + ": ";
        int width = Math.max(from.length(), to.length());
        out.println("replay" + (dryRun ? " (dry run: nothing is moved)" : "") + " — " + target.where());
        out.println("  " + pad(from, width) + dlqUrl);
        out.println("  " + pad(to, width) + queueUrl);
        Instant started = clock.instant();
        // A dry run holds every message it reads until the end, so it stops reading in time, like `rejected`.
        Instant stopDryRunAt = started.plus(RejectedCommand.MAX_SCAN);
        Outcome o = new Outcome(pair);
        boolean complete = false;
        try (DeadLetterReader reader = new DeadLetterReader(sqs, dlqUrl, pair);
             // The total is the queue's approximate depth at the start (what a replay can at most move).
             ProgressReporter.Progress shown = progress.start(dryRun ? "replay (dry run)" : "replay",
                     Math.min(reader.depth()[0], max), "messages", "messages")) {
            while (o.moved.messages() < max) {
                shown.update(o.read(), o.read());
                if (dryRun && clock.instant().isAfter(stopDryRunAt)) {
                    o.dryRunTimedOut = true;
                    break;
                }
                List<DlqMessage> batch = reader.next(max - o.moved.messages());
                if (batch.isEmpty()) {
                    break;
                }
                List<DlqMessage> candidates = new ArrayList<>();
                for (DlqMessage m : batch) {
                    if (m.sentAt() != null && m.sentAt().isAfter(started)) {
                        o.arrivedDuringRun++; // e.g. dead-lettered again after an earlier batch moved
                    } else if (!m.decodable()) {
                        o.undecodable.add(m);
                    } else {
                        candidates.add(m);
                    }
                }
                if (dryRun) {
                    candidates.forEach(o.moved::add);
                    continue;
                }
                Set<String> sent = new HashSet<>();
                RuntimeException sendFailure = send(queueUrl, candidates, sent);
                Set<String> deleted = reader.delete(candidates.stream().filter(m -> sent.contains(m.messageId())).toList());
                for (DlqMessage m : candidates) {
                    if (!sent.contains(m.messageId())) {
                        o.failed.add(m);
                    } else {
                        o.moved.add(m);
                        if (!deleted.contains(m.messageId())) {
                            o.copiedNotDeleted++;
                        }
                    }
                }
                if (sendFailure != null) {
                    // Whether SQS took the failed call's messages is unknown: they stay in the dead-letter queue.
                    throw sendFailure;
                }
            }
            complete = true;
        } finally {
            report(o, pair, dryRun, complete, max);
            json(o, pair, dlqUrl, queueUrl, dryRun, complete, max);
        }
        return o.failed.isEmpty() && o.copiedNotDeleted == 0 ? 0 : 1;
    }

    /**
     * Sends the bodies as they are, adding to {@code sent} the ids of the messages SQS confirmed. A call
     * that fails stops the sending and is returned, so what was confirmed before it is still deleted.
     */
    private RuntimeException send(String queueUrl, List<DlqMessage> messages, Set<String> sent) {
        SqsBatchSender.Result result = new SqsBatchSender(sqs).send(queueUrl,
                messages.stream().map(m -> SqsBatchSender.Entry.of(m.body())).toList());
        result.sent().forEach(i -> sent.add(messages.get(i).messageId()));
        return result.error();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }

    private void report(Outcome o, QueuePair pair, boolean dryRun, boolean complete, int max) {
        if (!complete) {
            out.println("stopped early (see the error below); what happened until then:");
        }
        String verb = dryRun ? "would move " : "moved ";
        out.println(verb + o.moved.moved() + (complete && o.moved.messages() >= max ? ", stopped at --max " + max : ""));
        o.moved.print(out, "  ");
        if (o.dryRunTimedOut) {
            out.println("  (stopped reading after " + RejectedCommand.MAX_SCAN.toSeconds() + " s: the "
                    + pair.deadLetterQueueName() + " holds more;"
                    + " a real replay has no such limit)");
        }
        if (!o.undecodable.isEmpty() || o.arrivedDuringRun > 0) {
            out.println("left in the " + pair.deadLetterQueueName() + ":");
            if (!o.undecodable.isEmpty()) {
                out.println("  not " + (pair == QueuePair.DELTAS ? "delta messages" : "reconcile jobs") + " ("
                        + pair.consumer + " would dead-letter them again): "
                        + Words.count(o.undecodable.messages(), "message"));
                o.undecodable.print(out, "    ");
            }
            if (o.arrivedDuringRun > 0) {
                out.println("  arrived after the replay started (run `rejected` to see why): "
                        + Words.count(o.arrivedDuringRun, "message"));
            }
        }
        if (!o.failed.isEmpty()) {
            out.println("NOT moved, still in the " + pair.deadLetterQueueName()
                    + " (SQS refused the send; run replay again): "
                    + Words.count(o.failed.messages(), "message"));
            o.failed.print(out, "  ");
        }
        if (o.copiedNotDeleted > 0) {
            out.println("warning: " + Words.count(o.copiedNotDeleted, "message") + " copied to the " + pair.queueName()
                    + " could not be deleted from the " + pair.deadLetterQueueName() + "; a second replay queues them"
                    + " again, which is harmless (" + (pair == QueuePair.DELTAS
                    ? "the sender drops what is not current, Segment drops repeated messageIds"
                    : "a job resumes from its checkpoint, and one already done or superseded stops") + ")");
        }
    }

    private void json(Outcome o, QueuePair pair, String dlqUrl, String queueUrl, boolean dryRun, boolean complete,
                      int max) {
        var doc = out.document();
        doc.put("from", pair.deadLetterQueueName()).put("fromUrl", dlqUrl).put("to", pair.queueName()).put("toUrl", queueUrl)
                .put("dryRun", dryRun).put("complete", complete).put("stoppedAtMax", complete && o.moved.messages() >= max);
        o.moved.toJson(doc.putObject(dryRun ? "wouldMove" : "moved"));
        o.undecodable.toJson(doc.putObject("leftUndecodable"));
        doc.put("leftArrivedDuringRun", o.arrivedDuringRun);
        o.failed.toJson(doc.putObject("notMoved"));
        doc.put("copiedNotDeleted", o.copiedNotDeleted).put("dryRunTimedOut", o.dryRunTimedOut);
    }

    private static final class Outcome {
        final DlqSummary moved;
        final DlqSummary undecodable;
        final DlqSummary failed;
        int arrivedDuringRun;
        int copiedNotDeleted;
        boolean dryRunTimedOut;

        /** Messages read so far, whatever became of them. */
        long read() {
            return moved.messages() + undecodable.messages() + failed.messages() + arrivedDuringRun;
        }

        Outcome(QueuePair pair) {
            moved = new DlqSummary(pair);
            undecodable = new DlqSummary(pair);
            failed = new DlqSummary(pair);
        }
    }
}
