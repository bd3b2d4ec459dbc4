package io.cohortsync.cli;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.domain.CohortRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Set;

/** {@code status}'s command line; runs {@link StatusCommand}. */
@Command(name = "status", description = "a cohort's recent syncs and any reconcile in progress, from the state table")
final class StatusOptions extends CommandOptions {
    static final int DEFAULT_LIMIT = 10;
    /** Reads only: the TTLs are what the stores would give items they write, and status writes none. */
    private static final Duration UNUSED_TTL = Duration.ofDays(1);

    @Option(names = "--project", paramLabel = "P")
    String project;

    @Option(names = "--cohort", paramLabel = "C")
    String cohort;

    @Option(names = "--connection", paramLabel = "NAME")
    String connection;

    @Option(names = "--limit", paramLabel = "N")
    String limit;

    private int limitValue;

    @Override
    Set<Resource> allResources() {
        return resources();
    }

    @Override
    Set<Resource> resources() {
        return Set.of(Resource.TABLE);
    }

    @Override
    void check() throws UsageException {
        if (project == null || cohort == null) {
            throw new UsageException("status needs --project P and --cohort C");
        }
        limitValue = positive("--limit", limit, DEFAULT_LIMIT);
    }

    @Override
    int run(Context c) throws SetupException {
        String table = c.target().get(Resource.TABLE);
        var dynamo = c.aws().dynamo();
        return new StatusCommand(new DynamoCohortStore(dynamo, table, UNUSED_TTL, c.clock()),
                new DynamoSyncHistory(dynamo, table, UNUSED_TTL, c.clock()),
                new DynamoReconcileStore(dynamo, table, UNUSED_TTL, c.clock()),
                new DynamoSessionStore(dynamo, table, UNUSED_TTL, c.clock()), c.clock(), c.report())
                .run(c.target(), new CohortRef(connection != null ? connection : CohortRef.DEFAULT_CONNECTION,
                        project, cohort), limitValue);
    }

    @Override
    String help() {
        return """
                usage: cohort-sync status (--stack NAME | --local | --table NAME) --project P --cohort C
                                          [--connection NAME] [--limit N] [--output json]

                Shows one cohort as the state table holds it: its stored name, epoch (full syncs completed) and
                whether an exit pass or a migration is running; its most recent syncs (the sync history the
                webhook and the sender write: action, page, members received, enters and exits, session, status,
                duration, identifies sent and rejected), with how many pages of each unfinished full sync have
                arrived; and its recent reconcile work (exit passes, renames, migrations: phase, shards done,
                counts), with each shard's checkpoint for work still in progress. Reads only (strongly
                consistent GetItems and Queries, a few read units). Counts and ids of cohorts, sessions and
                requests only: never a distinct id.

                  --project P       the Mixpanel project id (unknown-project for cohorts whose calls carry none)
                  --cohort C        the cohort id
                  --connection NAME the connection (/mixpanel/NAME) the cohort syncs on (default: the default one)
                  --limit N         show the N most recent syncs (default 10; history is kept HISTORY_TTL_DAYS)
                """;
    }
}
