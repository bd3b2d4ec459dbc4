package io.cohortsync.cli;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The tool's commands: what each needs from the stack, which options it takes, and its help. */
enum Command {
    REJECTED("rejected", "report what is in the dead-letter queue, by reason and cohort (consumes nothing)",
            Set.of(Resource.DEAD_LETTER_QUEUE), Set.of(Resource.RECONCILE_DEAD_LETTER_QUEUE),
            Map.of("--limit", true),
            """
            usage: cohort-sync rejected (--stack NAME | --local | --dlq-url URL) [--limit N]
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
            """),
    REPLAY("replay", "move dead-letter queue messages back to the delta queue (or the reconcile queue)",
            Set.of(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE),
            Set.of(Resource.RECONCILE_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE),
            Map.of("--dry-run", false, "--max", true),
            """
            usage: cohort-sync replay (--stack NAME | --local | --queue-url URL --dlq-url URL) [--dry-run] [--max N]
                   cohort-sync replay --reconcile (--stack NAME | --local
                                      | --reconcile-queue-url URL --reconcile-dlq-url URL) [--dry-run] [--max N]

            Moves messages from the dead-letter queue back to the delta queue: each is sent to the delta queue
            first and deleted from the dead-letter queue only once that send succeeded, so none is ever lost
            (a failure in between can at worst leave a copy in both, which the sender treats as a duplicate).
            Reports what moved: messages, deltas, by reason and cohort. Replaying is always safe: the sender
            sends only deltas that still equal the stored membership, and a change Segment already accepted
            keeps its messageId, so Segment drops the copy. Fix the cause first (see `rejected`), or the
            messages come back.

            Left in the dead-letter queue: messages that are not delta messages (the sender would put them
            straight back), and messages that arrived after the replay started (so a replay never chases its
            own rejections).

              --dry-run   report what would move; move nothing
              --max N     move at most N messages (default: all)
              --reconcile move the reconcile dead-letter queue back to the reconcile queue instead. Safe the
                          same way: a job resumes from its checkpoint, one whose work is done or was
                          superseded by a newer session or rename stops, and every write it makes is
                          conditional. Messages that are not reconcile jobs stay.
            """),
    BACKFILL("backfill", "re-send the current membership of a cohort (or all) to Segment",
            Set.of(Resource.TABLE, Resource.DELTA_QUEUE), Set.of(),
            Map.of("--project", true, "--cohort", true, "--all", false, "--name", true, "--include-exits", false,
                    "--rate", true, "--dry-run", false, "--connection", true),
            """
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
            """),
    RETIRE("retire", "set a cohort's trait false for all its members and mark it retired (deleted in Mixpanel)",
            Set.of(Resource.TABLE, Resource.DELTA_QUEUE), Set.of(),
            Map.of("--project", true, "--cohort", true, "--connection", true, "--rate", true, "--dry-run", false),
            """
            usage: cohort-sync retire (--stack NAME | --local | --table NAME --queue-url URL)
                                      --project P --cohort C [--connection NAME] [--rate N] [--dry-run]

            For a cohort Mixpanel no longer exports (deleted, or its export switched off: Mixpanel then sends
            nothing, and the trait would stay true on every profile; SilentCohortsAlarm names such cohorts).
            Exits every current member through the normal path (an exit delta each, then a conditional commit,
            as a full sync's exit pass does), so the sender sends `false` for the trait under the cohort's
            current name, then marks the cohort retired, which stops the silence alarm for it.

            While it runs, any call Mixpanel makes for the cohort is accepted: the users it lists keep their
            trait, and the cohort is not marked retired (exit code 1; the report says so). A later export
            un-retires the cohort and is logged. Interrupted, run it again: it resumes the same retirement.

              --project P       the Mixpanel project id (unknown-project for cohorts whose calls carry none)
              --cohort C        the cohort id
              --connection NAME the connection (/mixpanel/NAME) the cohort syncs on (default: the default one)
              --rate N          exit at most N members per second (default: as fast as DynamoDB and SQS take them)
              --dry-run         count the members that would exit; write nothing
            """);

    /** The flag that switches {@code rejected} and {@code replay} to the reconcile queue's pair. */
    static final String RECONCILE = "--reconcile";

    /** Options every command takes: where the stack is. */
    static final Map<String, Boolean> TARGET_OPTIONS = Map.of("--stack", true, "--local", false, "--region", true);

    static final String TARGET_HELP = """
            Where the resources are (one of):
              --stack NAME      a deployed stack: its outputs StateTableName, DeltaQueueUrl, DeadLetterQueueUrl,
                                ReconcileQueueUrl, ReconcileDlqUrl
              --local           `make local`: endpoint from AWS_ENDPOINT_URL (the "AWS emulator:" line it
                                prints), dummy credentials, the cohort-sync-local-* resources
              --table NAME, --queue-url URL, --dlq-url URL, --reconcile-queue-url URL, --reconcile-dlq-url URL
                                the resources themselves (they also override a stack's outputs)
              --region REGION   AWS region (default: the SDK's chain: AWS_REGION, then your profile's)
            Credentials come from the AWS SDK's default chain: AWS_PROFILE (run `aws sso login` first for an
            SSO profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance or container role.
            Exit codes: 0 done, 1 failed part-way (the report says what was done), 2 usage or setup error.
            """;

    final String name;
    final String summary;
    final Set<Resource> resources;
    /** What the command needs with {@code --reconcile} instead (empty: it has no such option). */
    final Set<Resource> reconcileResources;
    /** Option name to whether it takes a value, command-specific ones only. */
    final Map<String, Boolean> ownOptions;
    final String help;

    Command(String name, String summary, Set<Resource> resources, Set<Resource> reconcileResources,
            Map<String, Boolean> ownOptions, String help) {
        this.name = name;
        this.summary = summary;
        this.resources = resources;
        this.reconcileResources = reconcileResources;
        this.ownOptions = ownOptions;
        this.help = help;
    }

    /** Every resource the command can work on, with or without {@code --reconcile}. */
    Set<Resource> allResources() {
        Set<Resource> all = EnumSet.noneOf(Resource.class);
        all.addAll(resources);
        all.addAll(reconcileResources);
        return all;
    }

    /** Every option this command accepts, with whether it takes a value. */
    Map<String, Boolean> options() {
        Map<String, Boolean> all = new LinkedHashMap<>(TARGET_OPTIONS);
        resources.forEach(r -> all.put(r.flag, true));
        reconcileResources.forEach(r -> all.put(r.flag, true));
        if (!reconcileResources.isEmpty()) {
            all.put(RECONCILE, false);
        }
        all.putAll(ownOptions);
        return all;
    }

    /** Whether {@code option} is an option of any command, and whether it takes a value. */
    static Optional<Boolean> takesValue(String option) {
        return Arrays.stream(values()).map(Command::options).filter(o -> o.containsKey(option))
                .map(o -> o.get(option)).findFirst();
    }

    static Optional<Command> named(String name) {
        return Arrays.stream(values()).filter(c -> c.name.equals(name)).findFirst();
    }

    static List<String> names() {
        return Arrays.stream(values()).map(c -> c.name).toList();
    }

    static String overview() {
        StringBuilder s = new StringBuilder("""
                usage: cohort-sync <command> [options]      (make cli ARGS="<command> [options]")

                The operator tool of cohort-sync.

                Commands:
                """);
        for (Command c : values()) {
            s.append(String.format("  %-10s %s%n", c.name, c.summary));
        }
        s.append("\n").append(TARGET_HELP)
                .append("\nRun `cohort-sync <command> --help` for a command's options.\n");
        return s.toString();
    }

    String fullHelp() {
        return help + "\n" + TARGET_HELP;
    }
}
