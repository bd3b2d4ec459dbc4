package io.cohortsync.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Set;

/** {@code rejected}'s command line; runs {@link RejectedCommand}. */
@Command(name = "rejected", description = "report what is in the dead-letter queue, by reason and cohort (consumes nothing)")
final class RejectedOptions extends CommandOptions {
    @Option(names = "--limit", paramLabel = "N")
    String limit;

    @Option(names = ReplayOptions.RECONCILE, arity = "0")
    boolean reconcile;

    private int limitValue;

    @Override
    Set<Resource> allResources() {
        return Set.of(Resource.DEAD_LETTER_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE);
    }

    @Override
    Set<Resource> resources() {
        return Set.of(reconcile ? Resource.RECONCILE_DEAD_LETTER_QUEUE : Resource.DEAD_LETTER_QUEUE);
    }

    @Override
    boolean reconcile() {
        return reconcile;
    }

    @Override
    String describe() {
        return name() + (reconcile ? " " + ReplayOptions.RECONCILE : "");
    }

    @Override
    void check() throws UsageException {
        limitValue = positive("--limit", limit, RejectedCommand.DEFAULT_LIMIT);
    }

    @Override
    int run(Context c) {
        return new RejectedCommand(c.aws().sqs(), c.clock(), c.report())
                .run(c.target(), reconcile ? QueuePair.RECONCILE : QueuePair.DELTAS, limitValue);
    }

    @Override
    String help() {
        return """
                usage: cohort-sync rejected (--stack NAME | --local | --dlq-url URL) [--limit N] [--output json]
                       cohort-sync rejected --reconcile (--stack NAME | --local | --reconcile-dlq-url URL) [--limit N]

                Reads up to N messages of the dead-letter queue (default 1000) and reports, per reason, how many
                messages and deltas there are and which cohorts (project/cohort id) they belong to. Messages the
                sender rejected carry their reason; messages without one were moved there by SQS after
                maxReceiveCount failed receives. Messages are hidden from other readers while the scan runs and
                made visible again as soon as it ends: nothing is consumed. Distinct ids, user ids and e-mail
                addresses are never printed (reasons are shown with quoted text, e-mails and ids masked).

                  --limit N   read at most N messages (default 1000)
                  --reconcile the reconcile dead-letter queue instead: reconcile jobs (exit passes, renames,
                              migrations) that failed maxReceiveCount times, by cohort and kind
                """;
    }
}
