package io.cohortsync.cli;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Set;

/** {@code retire}'s command line; runs {@link RetireCommand}. */
@Command(name = "retire", description = "set a cohort's trait false for all its members and mark it retired")
final class RetireOptions extends CommandOptions {
    /** The cohort item's session TTL, as the functions' ({@code SESSION_TTL_HOURS}). */
    private static final Duration SESSION_TTL = Duration.ofHours(72);
    /** Exited members expire after {@code EXITED_TTL_DAYS}' default, as the functions' exits do. */
    private static final Duration EXITED_TTL = Duration.ofDays(30);

    @Option(names = "--project", paramLabel = "P")
    String project;

    @Option(names = "--cohort", paramLabel = "C")
    String cohort;

    @Option(names = "--connection", paramLabel = "NAME")
    String connection;

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
        if (project == null || cohort == null) {
            throw new UsageException("retire needs --project P and --cohort C");
        }
        rateValue = positive("--rate", rate, 0);
    }

    @Override
    int run(Context c) throws SetupException {
        String table = c.target().get(Resource.TABLE);
        var dynamo = c.aws().dynamo();
        return new RetireCommand(new DynamoCohortStore(dynamo, table, SESSION_TTL, c.clock()),
                new DynamoMembershipStore(dynamo, table, 16, EXITED_TTL, c.clock()),
                new SqsDeltaQueue(c.aws().sqs(), c.target().get(Resource.DELTA_QUEUE)),
                rateValue > 0 ? RateLimiter.perSecond(rateValue) : RateLimiter.unlimited(), c.clock(), c.report(),
                c.progress())
                .run(c.target(), new RetireCommand.Request(connection != null ? connection : CohortRef.DEFAULT_CONNECTION,
                        project, cohort, dryRun));
    }

    @Override
    String help() {
        return """
                usage: cohort-sync retire (--stack NAME | --local | --table NAME --queue-url URL)
                                          --project P --cohort C [--connection NAME] [--rate N] [--dry-run]
                                          [--output json]

                For a cohort Mixpanel no longer exports (deleted, or its export switched off: Mixpanel then sends
                nothing, and the trait would stay true on every profile; SilentCohortsAlarm names such cohorts).
                Exits every current member through the normal path (an exit delta each, then a conditional commit,
                as a full sync's exit pass does), so the sender sends `false` for the trait under the cohort's
                current name, then marks the cohort retired, which stops the silence alarm for it. Progress
                (shards done of 16, members exited, rate, ETA) goes to stderr.

                While it runs, any call Mixpanel makes for the cohort is accepted: the users it lists keep their
                trait, and the cohort is not marked retired (exit code 1; the report says so). A later export
                un-retires the cohort and is logged. Interrupted, run it again: it resumes the same retirement.

                  --project P       the Mixpanel project id (unknown-project for cohorts whose calls carry none)
                  --cohort C        the cohort id
                  --connection NAME the connection (/mixpanel/NAME) the cohort syncs on (default: the default one)
                  --rate N          exit at most N members per second (default: as fast as DynamoDB and SQS take them)
                  --dry-run         count the members that would exit; write nothing
                """;
    }
}
