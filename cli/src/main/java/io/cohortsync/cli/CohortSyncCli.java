package io.cohortsync.cli;

import io.cohortsync.domain.DependencyUnavailableException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.OverwrittenOptionException;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The operator tool: {@code rejected}, {@code replay}, {@code backfill}, {@code status} and {@code retire} against a
 * deployed stack or {@code make local}, parsed by picocli (one {@link CommandOptions} subclass per
 * command, listed in {@link Commands}: adding a command is adding it there). Reports go to
 * stdout (text, or one JSON document with {@code --output json}); progress and errors to stderr, an error
 * as one line, never a stack trace. This class is the one place where outcomes become exit codes: 0 done,
 * 1 failed part-way (the report says what was done), 2 usage or setup error (nothing was changed).
 */
public final class CohortSyncCli {
    /** The tool's commands, in the order the overview lists them: a new command is one more class here. */
    @Command(name = "cohort-sync", subcommands = {RejectedOptions.class, ReplayOptions.class, BackfillOptions.class,
            StatusOptions.class, RetireOptions.class})
    static final class Commands {
    }

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USER_ERROR = 2;
    /** AWS error codes that mean "fix your setup" (names, permissions, credentials), not "try again". */
    private static final Set<String> SETUP_ERRORS = Set.of("ResourceNotFoundException", "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue", "AccessDenied", "AccessDeniedException",
            "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
            "InvalidSignatureException", "SignatureDoesNotMatch", "InvalidAddress");
    private static final List<String> HELP = List.of("--help", "-h");

    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;
    private final Clock clock;
    private final AwsCredentialsProvider deployedCredentials;
    private final ProgressReporter progress;

    CohortSyncCli(Map<String, String> env, PrintStream out, PrintStream err, Clock clock,
                  AwsCredentialsProvider deployedCredentials) {
        this(env, out, err, clock, deployedCredentials,
                new ProgressReporter(err, false, ProgressReporter.DEFAULT_INTERVAL, System::nanoTime));
    }

    CohortSyncCli(Map<String, String> env, PrintStream out, PrintStream err, Clock clock,
                  AwsCredentialsProvider deployedCredentials, ProgressReporter progress) {
        this.env = env;
        this.out = out;
        this.err = err;
        this.clock = clock;
        this.deployedCredentials = deployedCredentials;
        this.progress = progress;
    }

    public static void main(String[] args) {
        int code;
        try (DefaultCredentialsProvider credentials = DefaultCredentialsProvider.builder().build()) {
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            PrintStream err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
            // A terminal gets one line redrawn in place; a pipe or a log gets a plain line every few seconds.
            ProgressReporter progress = new ProgressReporter(err, System.console() != null,
                    ProgressReporter.DEFAULT_INTERVAL, System::nanoTime);
            code = new CohortSyncCli(System.getenv(), out, err, Clock.systemUTC(), credentials, progress).run(args);
        }
        System.exit(code);
    }

    /** A fresh parser (picocli keeps the last parse's values in the command objects). */
    static CommandLine parser() {
        CommandLine cli = new CommandLine(new Commands());
        // Arguments are taken as written: no @file expansion (a value starting with @ is a value, as it always was).
        cli.setExpandAtFiles(false);
        // Each command's resource flags come from Resource, so flag, stack output and local name stay together.
        cli.getSubcommands().values().forEach(sub -> {
            CommandOptions command = sub.getCommand();
            for (Resource r : command.allResources()) {
                sub.getCommandSpec().addOption(OptionSpec.builder(r.flag).paramLabel(r.paramLabel).type(String.class)
                        .description(r.description).build());
            }
        });
        return cli;
    }

    int run(String... args) {
        CommandOptions command = null;
        Report report = null;
        try {
            List<String> line = List.of(args);
            CommandLine cli = parser();
            if (line.stream().anyMatch(HELP::contains) || (!line.isEmpty() && line.getFirst().equals("help"))) {
                // Help wins over anything else on the line, so `replay --max x --help` still shows replay's help.
                out.print(commandIn(cli, line).map(c -> ((CommandOptions) c.getCommand()).fullHelp())
                        .orElseGet(() -> overview(cli)));
                return OK;
            }
            command = parse(cli, line);
            report = new Report(out, command.json());
            int code = execute(command, report);
            report.finish(code, null);
            return code;
        } catch (UsageException e) {
            String help = command != null ? "cohort-sync " + command.name() + " --help"
                    : commandIn(parser(), List.of(args)).map(c -> "cohort-sync " + c.getCommandName() + " --help")
                    .orElse("cohort-sync --help");
            return fail(null, USER_ERROR, e.getMessage() + " (see " + help + ")");
        } catch (SetupException e) {
            return fail(report, USER_ERROR, e.getMessage());
        } catch (SdkException | DependencyUnavailableException e) {
            return awsFailure(report, e);
        } catch (RuntimeException e) {
            // A bug of ours. Class and first frame only: a message might quote a body, and bodies hold distinct ids.
            StackTraceElement[] at = e.getStackTrace();
            return fail(report, FAILED, "internal error (" + e.getClass().getName() + (at.length > 0 ? " at " + at[0] : "") + ")");
        }
    }

    /** Parses and checks the line: everything that can be checked without AWS fails here, before any call. */
    static CommandOptions parse(CommandLine cli, List<String> line) throws UsageException {
        ParseResult parsed;
        try {
            parsed = cli.parseArgs(commandFirst(cli, line).toArray(String[]::new));
        } catch (ParameterException e) {
            throw new UsageException(message(cli, e));
        }
        if (!parsed.hasSubcommand()) {
            throw new UsageException("no command given (commands: " + String.join(", ", cli.getSubcommands().keySet()) + ")");
        }
        CommandOptions command = parsed.subcommand().commandSpec().commandLine().getCommand();
        command.validate();
        return command;
    }

    /**
     * The line with the command moved to the front: options may come before it, as they always could here
     * ({@code --stack s replay}); picocli reads a command's options after the command. An option before it
     * takes the next word as its value when it is an option that takes one in any command.
     */
    static List<String> commandFirst(CommandLine cli, List<String> line) {
        for (int i = 0; i < line.size(); i++) {
            String arg = line.get(i);
            if (cli.getSubcommands().containsKey(arg)) {
                List<String> moved = new ArrayList<>(line);
                moved.remove(i);
                moved.addFirst(arg);
                return moved;
            }
            if (!arg.startsWith("-")) {
                return line; // not a command and not an option: picocli names it
            }
            if (!arg.contains("=") && anyCommandOption(cli, arg).map(o -> o.arity().max() > 0).orElse(false)) {
                i++; // its value
            }
        }
        return line;
    }

    /** One line naming what is wrong with the command line, in this tool's words rather than picocli's. */
    private static String message(CommandLine cli, ParameterException e) {
        CommandLine at = e.getCommandLine();
        String command = at == cli ? null : at.getCommandName();
        if (e instanceof MissingParameterException missing && !missing.getMissing().isEmpty()
                && missing.getMissing().getFirst() instanceof OptionSpec o) {
            return o.longestName() + " needs a value";
        }
        if (e instanceof OverwrittenOptionException overwritten && overwritten.getOverwritten() instanceof OptionSpec o) {
            return o.longestName() + " is given twice";
        }
        if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String arg = unmatched.getUnmatched().getFirst();
            if (arg.startsWith("-")) {
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                OptionSpec own = at.getCommandSpec().findOption(name);
                if (own != null && own.arity().max() == 0) {
                    return name + " takes no value";
                }
                if (command != null && anyCommandOption(cli, name).isPresent()) {
                    return name + " is not an option of " + command;
                }
                return "unknown option " + name;
            }
            if (command == null) {
                return "unknown command '" + arg + "' (commands: " + String.join(", ", cli.getSubcommands().keySet()) + ")";
            }
            return "unexpected argument '" + arg + "'";
        }
        String m = e.getMessage();
        // e.g. "option '--local' should be specified without 'yes' parameter"
        if (m != null && m.contains("should be specified without")) {
            return m.replaceFirst("^.*?option '([^']+)'.*$", "$1") + " takes no value";
        }
        return m;
    }

    private static Optional<OptionSpec> anyCommandOption(CommandLine cli, String name) {
        return cli.getSubcommands().values().stream().map(c -> c.getCommandSpec().findOption(name))
                .filter(o -> o != null).findFirst();
    }

    private static Optional<CommandLine> commandIn(CommandLine cli, List<String> args) {
        return args.stream().map(a -> cli.getSubcommands().get(a)).filter(c -> c != null).findFirst();
    }

    static String overview(CommandLine cli) {
        StringBuilder s = new StringBuilder("""
                usage: cohort-sync <command> [options]      (bin/cohort-sync …, or make cli ARGS="<command> [options]")

                The operator tool of cohort-sync.

                Commands:
                """);
        for (CommandLine c : cli.getSubcommands().values()) {
            s.append(String.format("  %-10s %s%n", c.getCommandName(), ((CommandOptions) c.getCommand()).summary()));
        }
        s.append("\n").append(CommandOptions.TARGET_HELP)
                .append("\nRun `cohort-sync <command> --help` for a command's options.\n");
        return s.toString();
    }

    private int execute(CommandOptions command, Report report) throws SetupException {
        try (AwsAccess aws = command.local ? AwsAccess.local(env) : AwsAccess.deployed(command.region, deployedCredentials)) {
            Target target = Target.resolve(command, aws);
            return command.run(new CommandOptions.Context(aws, target, report, clock, progress));
        }
    }

    /**
     * An AWS call failed (directly, or inside a shared adapter that wraps it as retryable). Exit 2 when
     * the fix is the operator's (a wrong name, a missing permission, expired credentials), else 1.
     */
    private int awsFailure(Report report, RuntimeException e) {
        Throwable cause = e instanceof DependencyUnavailableException && e.getCause() instanceof SdkException sdk ? sdk : e;
        if (cause instanceof AwsServiceException ase && ase.awsErrorDetails() != null) {
            String code = ase.awsErrorDetails().errorCode();
            String message = ase.awsErrorDetails().errorMessage();
            return fail(report, code != null && SETUP_ERRORS.contains(code) ? USER_ERROR : FAILED,
                    service(ase.awsErrorDetails().serviceName()) + " refused: " + code + (message == null ? "" : ": " + message));
        }
        if (cause instanceof SdkClientException) {
            return fail(report, FAILED, "could not reach AWS: " + cause.getMessage());
        }
        return fail(report, FAILED, e.getMessage());
    }

    /** The SDK's service names ("Sqs", "DynamoDb") as AWS writes them. */
    private static String service(String sdkName) {
        return switch (String.valueOf(sdkName)) {
            case "Sqs" -> "SQS";
            case "DynamoDb" -> "DynamoDB";
            case "null" -> "AWS";
            default -> sdkName;
        };
    }

    /** The error as one line on stderr; with {@code --output json} also in the document, after what was done. */
    private int fail(Report report, int code, String message) {
        String line = oneLine(message);
        if (report != null) {
            report.finish(code, line);
        }
        out.flush();
        err.println("cohort-sync: " + line);
        return code;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
