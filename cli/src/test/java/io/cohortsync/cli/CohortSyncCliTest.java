package io.cohortsync.cli;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;

import java.time.Clock;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Help, usage and setup errors: what an operator sees before any AWS call. No network. */
class CohortSyncCliTest {
    private static final AwsCredentialsProvider NO_CREDENTIALS = () -> {
        throw SdkClientException.create("Unable to load credentials from any of the providers in the chain");
    };

    private static CliRun run(Map<String, String> env, String... args) {
        return CliRun.run(env, Clock.systemUTC(), NO_CREDENTIALS, args);
    }

    @Test
    void run_printsOverview_whenAskedForHelp() {
        CliRun r = run(Map.of(), "--help");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("usage: cohort-sync <command>", "rejected", "replay", "backfill", "status",
                "--stack NAME", "--local", "--output json", "Exit codes");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void run_printsEachCommandsHelp_whenAskedForIt() {
        for (picocli.CommandLine c : CohortSyncCli.parser().getSubcommands().values()) {
            CliRun r = run(Map.of(), c.getCommandName(), "--help");

            assertThat(r.code()).isZero();
            assertThat(r.out()).startsWith("usage: cohort-sync " + c.getCommandName()).contains("--stack NAME");
            c.getCommandSpec().options().forEach(option -> assertThat(r.out())
                    .as(c.getCommandName() + " help names " + option.longestName()).contains(option.longestName()));
        }
    }

    @Test
    void run_failsWithOneLineAndExit2_whenAFlagIsMissing() {
        CliRun r = run(Map.of(), "replay", "--dlq-url", "http://dlq");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("cohort-sync: replay needs --stack NAME, --local, or --queue-url"
                + " (see cohort-sync replay --help)" + System.lineSeparator());
    }

    @Test
    void run_pointsAtTheCommandsHelp_whenTheCommandComesAfterTheBadOption() {
        CliRun r = run(Map.of(), "--limit", "x", "rejected", "--local");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--limit must be a whole number").contains("(see cohort-sync rejected --help)");
    }

    @Test
    void run_failsWithOneLineAndExit2_whenThereAreNoCredentials() {
        CliRun r = run(Map.of(), "rejected", "--region", "eu-west-1", "--dlq-url", "https://sqs.eu-west-1.amazonaws.com/1/q");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: no usable AWS credentials").doesNotContain("Exception")
                .hasLineCount(1);
    }

    @Test
    void run_failsWithOneLineAndExit2_whenLocalHasNoEndpoint() {
        CliRun r = run(Map.of(), "rejected", "--local");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: --local needs AWS_ENDPOINT_URL").hasLineCount(1);
    }

    @Test
    void run_failsWithOneLineAndExit2_whenLocalEndpointIsNotAUrl() {
        CliRun r = run(Map.of("AWS_ENDPOINT_URL", "localhost 4566"), "rejected", "--local");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: AWS_ENDPOINT_URL is not a URL").hasLineCount(1);
    }
}
