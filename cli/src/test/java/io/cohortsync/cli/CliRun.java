package io.cohortsync.cli;

import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/** Runs the tool in-process with stdout and stderr captured, as an operator would see them. */
record CliRun(int code, String out, String err) {

    /** With this process's environment and the SDK's default credential chain (moto's dummies in tests). */
    static CliRun run(String... args) {
        return run(System.getenv(), Clock.systemUTC(), DefaultCredentialsProvider.builder().build(), args);
    }

    static CliRun run(Map<String, String> env, String... args) {
        return run(env, Clock.systemUTC(), DefaultCredentialsProvider.builder().build(), args);
    }

    static CliRun run(Map<String, String> env, Clock clock, AwsCredentialsProvider credentials, String... args) {
        return run(env, clock, credentials, ProgressReporter.DEFAULT_INTERVAL, args);
    }

    /** As a pipe sees it (not a terminal): progress lines every {@code progressInterval} on stderr. */
    static CliRun withProgressEvery(Duration progressInterval, String... args) {
        return run(System.getenv(), Clock.systemUTC(), DefaultCredentialsProvider.builder().build(), progressInterval, args);
    }

    private static CliRun run(Map<String, String> env, Clock clock, AwsCredentialsProvider credentials,
                              Duration progressInterval, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = new CohortSyncCli(env, o, e, clock, credentials,
                    new ProgressReporter(e, false, progressInterval, System::nanoTime)).run(args);
        }
        CliRun run = new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        // Echoed so a failing test shows what the operator would have seen.
        System.out.print(run.out);
        System.out.print(run.err);
        return run;
    }

    /** Everything printed, both streams. */
    String all() {
        return out + err;
    }
}
