package io.cohortsync.cli;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Set;

/** {@code backfill}'s command line; runs {@link BackfillCommand}. */
@Command(name = "backfill", description = "re-send the current membership of a cohort (or all) to Segment")
final class BackfillOptions extends CommandOptions {
    @Option(names = "--project", paramLabel = "P")
    String project;

    @Option(names = "--cohort", paramLabel = "C")
    String cohort;

    @Option(names = "--all", arity = "0")
    boolean all;

    @Option(names = "--name", paramLabel = "NAME")
    String name;

    @Option(names = "--connection", paramLabel = "NAME")
    String connection;

    @Option(names = "--include-exits", arity = "0")
    boolean includeExits;

    @Option(names = "--rate", paramLabel = "N")
    String rate;

    @Option(names = "--dry-run", arity = "0")
    boolean dryRun;

    private int rateValue;

    @Override
    Set<Resource> allResources() {
        return resources();
    }

    @Override
    Set<Resource> resources() {
        return Set.of(Resource.TABLE, Resource.DELTA_QUEUE);
    }

    @Override
    void check() throws UsageException {
        if (project == null) {
            throw new UsageException("backfill needs --project P");
        }
        if ((cohort != null) == all) {
            throw new UsageException("backfill needs either --cohort C or --all");
        }
        if (name != null && cohort == null) {
            throw new UsageException("--name goes with --cohort (with --all every cohort needs a stored name)");
        }
        rateValue = positive("--rate", rate, 0);
    }

    @Override
    int run(Context c) throws SetupException {
        String table = c.target().get(Resource.TABLE);
        return new BackfillCommand(
                new CohortTable(c.aws().dynamo(), table, c.clock()),
                // Reads only (load): the TTL is what the functions give session outcomes, never used here.
                new DynamoCohortStore(c.aws().dynamo(), table, Duration.ofHours(72), c.clock()),
                new SqsDeltaQueue(c.aws().sqs(), c.target().get(Resource.DELTA_QUEUE)),
                rateValue > 0 ? RateLimiter.perSecond(rateValue) : RateLimiter.unlimited(),
                c.clock(), c.report(), c.progress())
                .run(c.target(), new BackfillCommand.Request(connection != null ? connection : CohortRef.DEFAULT_CONNECTION,
                        project, cohort, name, includeExits, dryRun));
    }

    @Override
    String help() {
        return """
                usage: cohort-sync backfill (--stack NAME | --local | --table NAME --queue-url URL)
                                            --project P (--cohort C [--name NAME] | --all)
                                            [--connection NAME] [--include-exits] [--rate N] [--dry-run]

                Re-sends the stored membership of one cohort, or of every cohort of project P, to Segment, e.g.
                after a new Segment destination was added. Reads the members from the state table (strongly
                consistent) and queues one delta per member on the delta queue, equal to the stored state (same
                version, membership and Segment user id) and marked with a resend token unique to this run
                (backfill-<UTC time>), which gives each identify a fresh messageId so Segment does not drop it as a
                copy of the original. The deployed sender sends them at its usual pace (SenderMaxConcurrency);
                a member whose state changes meanwhile is dropped as stale, the newer change carries the truth.
                Progress (shards read of cohorts x 16, deltas queued, rate, ETA) goes to stderr.

                The trait name comes from the cohort's current name as the webhook stores it (renames included). A
                cohort without a stored name needs --name, the cohort's name in Mixpanel. Members are read from
                the cohort's 16 shard partitions; a cohort still stored in the single partition of an earlier
                version (or being moved from it) is refused, nothing queued, until the reconciler has moved it.

                  --project P       the Mixpanel project id (unknown-project for cohorts whose calls carry none)
                  --cohort C        the cohort id to backfill
                  --all             every cohort of the project that has membership in the table
                  --name NAME       the cohort's name, when none is stored (only with --cohort)
                  --connection NAME the connection (/mixpanel/NAME) the cohort syncs on (default: the default one)
                  --include-exits   also re-send `false` to users who left the cohort
                  --rate N          queue at most N deltas per second (default: as fast as SQS takes them)
                  --dry-run         report what would be queued; queue nothing
                """;
    }
}
