package io.cohortsync.cli;

import io.cohortsync.domain.CohortRef;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The operator tool: {@code rejected}, {@code replay} and {@code backfill} against a deployed stack or
 * {@code make local}. Reports go to stdout; an error is one line on stderr, never a stack trace. This
 * class is the one place where outcomes become exit codes: 0 done, 1 failed part-way (the report says
 * what was done), 2 usage or setup error (nothing was changed).
 */
public final class CohortSyncCli {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USER_ERROR = 2;
    /** AWS error codes that mean "fix your setup" (names, permissions, credentials), not "try again". */
    private static final Set<String> SETUP_ERRORS = Set.of("ResourceNotFoundException", "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue", "AccessDenied", "AccessDeniedException",
            "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
            "InvalidSignatureException", "SignatureDoesNotMatch", "InvalidAddress");

    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;
    private final Clock clock;
    private final AwsCredentialsProvider deployedCredentials;

    CohortSyncCli(Map<String, String> env, PrintStream out, PrintStream err, Clock clock,
                  AwsCredentialsProvider deployedCredentials) {
        this.env = env;
        this.out = out;
        this.err = err;
        this.clock = clock;
        this.deployedCredentials = deployedCredentials;
    }

    public static void main(String[] args) {
        int code;
        try (DefaultCredentialsProvider credentials = DefaultCredentialsProvider.builder().build()) {
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            PrintStream err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
            code = new CohortSyncCli(System.getenv(), out, err, Clock.systemUTC(), credentials).run(args);
        }
        System.exit(code);
    }

    int run(String... args) {
        CommandLine line = null;
        try {
            line = CommandLine.parse(Arrays.asList(args));
            if (line.help()) {
                out.print(line.command() == null ? Command.overview() : line.command().fullHelp());
                return OK;
            }
            return execute(line);
        } catch (UsageException e) {
            String help = line != null && line.command() != null ? "cohort-sync " + line.command().name + " --help"
                    : commandIn(args).map(c -> "cohort-sync " + c.name + " --help").orElse("cohort-sync --help");
            return fail(USER_ERROR, e.getMessage() + " (see " + help + ")");
        } catch (SetupException e) {
            return fail(USER_ERROR, e.getMessage());
        } catch (SdkException | DependencyUnavailableException e) {
            return awsFailure(e);
        } catch (RuntimeException e) {
            // A bug of ours. Class and first frame only: a message might quote a body, and bodies hold distinct ids.
            StackTraceElement[] at = e.getStackTrace();
            return fail(FAILED, "internal error (" + e.getClass().getName() + (at.length > 0 ? " at " + at[0] : "") + ")");
        }
    }

    private int execute(CommandLine line) throws SetupException {
        try (AwsAccess aws = line.has("--local") ? AwsAccess.local(env)
                : AwsAccess.deployed(line.value("--region"), deployedCredentials)) {
            Target target = Target.resolve(line, aws);
            return switch (line.command()) {
                case REJECTED -> new RejectedCommand(aws.sqs(), clock, out)
                        .run(target, line.queuePair(), line.positive("--limit", RejectedCommand.DEFAULT_LIMIT));
                case REPLAY -> new ReplayCommand(aws.sqs(), clock, out)
                        .run(target, line.queuePair(), line.has("--dry-run"), line.positive("--max", Integer.MAX_VALUE));
                case BACKFILL -> new BackfillCommand(
                        new CohortTable(aws.dynamo(), target.get(Resource.TABLE), clock),
                        // Reads only (load): the TTL is what the functions give session outcomes, never used here.
                        new DynamoCohortStore(aws.dynamo(), target.get(Resource.TABLE), Duration.ofHours(72), clock),
                        new SqsDeltaQueue(aws.sqs(), target.get(Resource.DELTA_QUEUE)),
                        line.has("--rate") ? RateLimiter.perSecond(line.positive("--rate", 0)) : RateLimiter.unlimited(),
                        clock, out)
                        .run(target, new BackfillCommand.Request(
                                line.has("--connection") ? line.value("--connection") : CohortRef.DEFAULT_CONNECTION,
                                line.value("--project"), line.value("--cohort"),
                                line.value("--name"), line.has("--include-exits"), line.has("--dry-run")));
                case RETIRE -> new RetireCommand(
                        new DynamoCohortStore(aws.dynamo(), target.get(Resource.TABLE), Duration.ofHours(72), clock),
                        // Exited members expire after EXITED_TTL_DAYS' default (30), as the functions' exits do.
                        new DynamoMembershipStore(aws.dynamo(), target.get(Resource.TABLE), 16, Duration.ofDays(30), clock),
                        new SqsDeltaQueue(aws.sqs(), target.get(Resource.DELTA_QUEUE)),
                        line.has("--rate") ? RateLimiter.perSecond(line.positive("--rate", 0)) : RateLimiter.unlimited(),
                        clock, out)
                        .run(target, new RetireCommand.Request(
                                line.has("--connection") ? line.value("--connection") : CohortRef.DEFAULT_CONNECTION,
                                line.value("--project"), line.value("--cohort"), line.has("--dry-run")));
            };
        }
    }

    /**
     * An AWS call failed (directly, or inside a shared adapter that wraps it as retryable). Exit 2 when
     * the fix is the operator's (a wrong name, a missing permission, expired credentials), else 1.
     */
    private int awsFailure(RuntimeException e) {
        Throwable cause = e instanceof DependencyUnavailableException && e.getCause() instanceof SdkException sdk ? sdk : e;
        if (cause instanceof AwsServiceException ase && ase.awsErrorDetails() != null) {
            String code = ase.awsErrorDetails().errorCode();
            String message = ase.awsErrorDetails().errorMessage();
            return fail(code != null && SETUP_ERRORS.contains(code) ? USER_ERROR : FAILED,
                    service(ase.awsErrorDetails().serviceName()) + " refused: " + code + (message == null ? "" : ": " + message));
        }
        if (cause instanceof SdkClientException) {
            return fail(FAILED, "could not reach AWS: " + cause.getMessage());
        }
        return fail(FAILED, e.getMessage());
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

    private int fail(int code, String message) {
        out.flush();
        err.println("cohort-sync: " + oneLine(message));
        return code;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").strip();
    }

    private static Optional<Command> commandIn(String[] args) {
        return Arrays.stream(args).map(Command::named).flatMap(Optional::stream).findFirst();
    }
}
