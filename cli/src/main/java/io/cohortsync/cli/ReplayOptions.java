package io.cohortsync.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Set;

/** {@code replay}'s command line; runs {@link ReplayCommand}. */
@Command(name = "replay", description = "move dead-letter queue messages back to the delta queue (or the reconcile queue)")
final class ReplayOptions extends CommandOptions {
    /** The flag that switches {@code rejected} and {@code replay} to the reconcile queue's pair. */
    static final String RECONCILE = "--reconcile";

    @Option(names = "--dry-run", arity = "0")
    boolean dryRun;

    @Option(names = "--max", paramLabel = "N")
    String max;

    @Option(names = RECONCILE, arity = "0")
    boolean reconcile;

    private int maxValue;

    @Override
    Set<Resource> allResources() {
        return Set.of(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE, Resource.RECONCILE_QUEUE,
                Resource.RECONCILE_DEAD_LETTER_QUEUE);
    }

    @Override
    Set<Resource> resources() {
        return reconcile ? Set.of(Resource.RECONCILE_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE)
                : Set.of(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE);
    }

    @Override
    boolean reconcile() {
        return reconcile;
    }

    @Override
    String describe() {
        return name() + (reconcile ? " " + RECONCILE : "");
    }

    @Override
    void check() throws UsageException {
        maxValue = positive("--max", max, Integer.MAX_VALUE);
    }

    @Override
    int run(Context c) {
        return new ReplayCommand(c.aws().sqs(), c.clock(), c.report(), c.progress())
                .run(c.target(), reconcile ? QueuePair.RECONCILE : QueuePair.DELTAS, dryRun, maxValue);
    }

    @Override
    String help() {
        return """
                usage: cohort-sync replay (--stack NAME | --local | --queue-url URL --dlq-url URL) [--dry-run] [--max N]
                       cohort-sync replay --reconcile (--stack NAME | --local
                                          | --reconcile-queue-url URL --reconcile-dlq-url URL) [--dry-run] [--max N]

                Moves messages from the dead-letter queue back to the delta queue: each is sent to the delta queue
                first and deleted from the dead-letter queue only once that send succeeded, so none is ever lost
                (a failure in between can at worst leave a copy in both, which the sender treats as a duplicate).
                Reports what moved: messages, deltas, by reason and cohort. Replaying is always safe: the sender
                sends only deltas that still equal the stored membership, and a change Segment already accepted
                keeps its messageId, so Segment drops the copy. Fix the cause first (see `rejected`), or the
                messages come back. Progress (messages read of the queue's depth, rate, ETA) goes to stderr.

                Left in the dead-letter queue: messages that are not delta messages (the sender would put them
                straight back), and messages that arrived after the replay started (so a replay never chases its
                own rejections).

                  --dry-run   report what would move; move nothing
                  --max N     move at most N messages (default: all)
                  --reconcile move the reconcile dead-letter queue back to the reconcile queue instead. Safe the
                              same way: a job resumes from its checkpoint, one whose work is done or was
                              superseded by a newer session or rename stops, and every write it makes is
                              conditional. Messages that are not reconcile jobs stay.
                """;
    }
}
