package io.cohortsync.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Clock;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * One command of the tool as picocli parses it: the options every command takes (where the stack is,
 * {@code --output}), the resource flags it declares ({@link #resources}), its own checks and help, and
 * {@link #run} with the resolved resources. A new command is a subclass listed in
 * {@link CohortSyncCli.Commands}' {@code subcommands}: it declares its options with {@code @Option}, says which
 * resources it needs, and runs its service class (e.g. {@link BackfillCommand}) on the {@link Context}.
 */
abstract class CommandOptions {
    /** What a command runs with: AWS clients, where the resources are, where the report goes, progress. */
    record Context(AwsAccess aws, Target target, Report report, Clock clock, ProgressReporter progress) {
    }

    static final String TARGET_HELP = """
            Where the resources are (one of):
              --stack NAME      a deployed stack: its outputs StateTableName, DeltaQueueUrl, DeadLetterQueueUrl,
                                ReconcileQueueUrl, ReconcileDlqUrl
              --local           `make local`: endpoint from AWS_ENDPOINT_URL (the "AWS emulator:" line it
                                prints), dummy credentials, the cohort-sync-local-* resources
              --table NAME, --queue-url URL, --dlq-url URL, --reconcile-queue-url URL, --reconcile-dlq-url URL
                                the resources themselves (they also override a stack's outputs)
              --region REGION   AWS region (default: the SDK's chain: AWS_REGION, then your profile's)
            Output:
              --output json     one JSON document on stdout instead of the text report (for scripts), with
                                exitCode and, when the command stopped on an error, error.message
              -h, --help        a command's help (`cohort-sync <command> --help`), whatever else is on the line
            Long commands (backfill, replay) report progress on stderr: one updating line on a terminal, a
            plain line every 5 s otherwise; stdout keeps only the report.
            Credentials come from the AWS SDK's default chain: AWS_PROFILE (run `aws sso login` first for an
            SSO profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance or container role.
            Exit codes: 0 done, 1 failed part-way (the report says what was done), 2 usage or setup error.
            """;

    @Spec
    CommandSpec spec;

    @Option(names = "--stack", paramLabel = "NAME")
    String stack;

    @Option(names = "--local", arity = "0")
    boolean local;

    @Option(names = "--region", paramLabel = "REGION")
    String region;

    @Option(names = "--output", paramLabel = "FORMAT")
    String output;

    /** Documents -h/--help; {@link CohortSyncCli} answers help before parsing, whatever else is on the line. */
    @Option(names = {"-h", "--help"}, usageHelp = true)
    boolean help;

    /** Every resource the command can work on (its resource flags), with or without {@code --reconcile}. */
    abstract Set<Resource> allResources();

    /** The resources this command line needs (e.g. with {@code --reconcile} the reconcile queues). */
    abstract Set<Resource> resources();

    /** The command's own checks, after the shared ones; nothing here may call AWS. */
    void check() throws UsageException {
    }

    /** The usage text {@code <command> --help} prints (before {@link #TARGET_HELP}). */
    abstract String help();

    /** Runs the command; the one place it turns its options into a service call. */
    abstract int run(Context context) throws SetupException;

    /** "needs --stack NAME, --local, or …": how the command names itself in that message. */
    String describe() {
        return name();
    }

    final String name() {
        return spec.name();
    }

    final String summary() {
        String[] description = spec.usageMessage().description();
        return description.length == 0 ? "" : description[0];
    }

    final String fullHelp() {
        return help() + "\n" + TARGET_HELP;
    }

    final boolean json() {
        return "json".equals(output);
    }

    /** Whether a resource flag (or any option) was given. */
    final boolean has(String option) {
        OptionSpec o = spec.findOption(option);
        return o != null && spec.commandLine().getParseResult() != null
                && spec.commandLine().getParseResult().hasMatchedOption(o);
    }

    /** A resource flag's value, or null. */
    final String value(String option) {
        OptionSpec o = spec.findOption(option);
        return o == null ? null : o.getValue();
    }

    /** The checks every command shares (where the resources are, the output), then {@link #check()}. */
    final void validate() throws UsageException {
        if (output != null && !output.equals("json") && !output.equals("text")) {
            throw new UsageException("--output must be text or json, was '" + output + "'");
        }
        for (OptionSpec o : spec.options()) {
            if (o.arity().max() > 0 && spec.commandLine().getParseResult().hasMatchedOption(o)
                    && (String.valueOf((Object) o.getValue()).isBlank()
                    // picocli takes an unknown "--x" after an option as its value; this tool never did
                    || String.valueOf((Object) o.getValue()).startsWith("--"))) {
                throw new UsageException(o.longestName() + " needs a value");
            }
        }
        Set<Resource> needed = resources();
        for (Resource r : EnumSet.copyOf(allResources())) { // enum order: the first wrong flag is named
            if (has(r.flag) && !needed.contains(r)) {
                throw new UsageException(r.flag + (reconcile() ? " does not go with " + ReplayOptions.RECONCILE
                        : " goes with " + ReplayOptions.RECONCILE));
            }
        }
        boolean explicit = needed.stream().anyMatch(r -> has(r.flag));
        if (local) {
            if (stack != null) {
                throw new UsageException("--local and --stack exclude each other");
            }
            if (explicit) {
                throw new UsageException("--local uses the make local resources; drop "
                        + String.join(", ", needed.stream().map(r -> r.flag).filter(this::has).sorted().toList()));
            }
            if (region != null) {
                throw new UsageException("--region does not apply to --local (make local uses us-east-1)");
            }
        } else if (stack == null) {
            List<String> missing = needed.stream().filter(r -> !has(r.flag)).map(r -> r.flag).sorted().toList();
            if (!missing.isEmpty()) {
                throw new UsageException(describe() + " needs --stack NAME, --local, or " + String.join(" and ", missing));
            }
        }
        check();
    }

    /** Whether {@code --reconcile} was given (commands that have it override this). */
    boolean reconcile() {
        return false;
    }

    /** A number option's value: a whole number >= 1, or {@code absent} when not given. */
    static int positive(String option, String value, int absent) throws UsageException {
        if (value == null) {
            return absent;
        }
        if (!value.matches("[1-9][0-9]{0,8}")) {
            throw new UsageException(option + " must be a whole number >= 1, was '" + value + "'");
        }
        return Integer.parseInt(value);
    }

    static Set<Resource> union(Set<Resource> a, Set<Resource> b) {
        Set<Resource> all = EnumSet.noneOf(Resource.class);
        all.addAll(a);
        all.addAll(b);
        return all;
    }
}
