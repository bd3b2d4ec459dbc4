package io.cohortsync.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CommandLineTest {

    private static CommandLine parse(String line) throws UsageException {
        return CommandLine.parse(line.isBlank() ? List.of() : Arrays.asList(line.split(" ")));
    }

    @Test
    void parse_readsCommandAndOptions_inAnyOrder() throws UsageException {
        // when
        CommandLine line = parse("--stack cohort-sync replay --max=5 --dry-run");

        // then
        assertThat(line.command()).isEqualTo(Command.REPLAY);
        assertThat(line.value("--stack")).isEqualTo("cohort-sync");
        assertThat(line.positive("--max", Integer.MAX_VALUE)).isEqualTo(5);
        assertThat(line.has("--dry-run")).isTrue();
        assertThat(line.help()).isFalse();
    }

    @Test
    void positive_returnsDefault_whenOptionAbsent() throws UsageException {
        assertThat(parse("rejected --local").positive("--limit", 1000)).isEqualTo(1000);
    }

    @Test
    void parse_acceptsExplicitResources_withoutStack() throws UsageException {
        CommandLine line = parse("replay --queue-url http://q --dlq-url http://dlq");

        assertThat(line.value("--queue-url")).isEqualTo("http://q");
        assertThat(line.value("--dlq-url")).isEqualTo("http://dlq");
    }

    @Test
    void parse_acceptsBackfillOfOneCohort_withNameFromTheCommandLine() throws UsageException {
        CommandLine line = CommandLine.parse(List.of("backfill", "--local", "--project", "2195193", "--cohort", "1457721",
                "--name", "Power users (30d)", "--include-exits", "--rate", "500"));

        assertThat(line.value("--name")).isEqualTo("Power users (30d)");
        assertThat(line.has("--include-exits")).isTrue();
        assertThat(line.positive("--rate", 0)).isEqualTo(500);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--help|",
            "-h|",
            "help|",
            "replay --help|replay",
            "backfill -h --all|backfill",
            "help rejected|rejected",
            "replay --max x --bogus --help|replay"
    })
    void parse_asksForHelp_whateverElseIsOnTheLine(String args, String command) throws UsageException {
        CommandLine line = parse(args);

        assertThat(line.help()).isTrue();
        assertThat(line.command() == null ? null : line.command().name).isEqualTo(command);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "|no command given",
            "purge --local|unknown command 'purge'",
            "rejected --local --frobnicate|unknown option --frobnicate",
            "rejected --local -x|unknown option -x",
            "rejected --local extra|unexpected argument 'extra'",
            "rejected --stack|--stack needs a value",
            "rejected --stack --local|--stack needs a value",
            "rejected --stack=|--stack needs a value",
            "rejected --local=yes|--local takes no value",
            "rejected --stack a --stack b|--stack is given twice",
            "rejected --local --limit 0|--limit must be a whole number >= 1",
            "rejected --local --limit ten|--limit must be a whole number >= 1",
            "replay --local --max -3|--max must be a whole number >= 1",
            "rejected --local --table t|--table is not an option of rejected",
            "rejected --local --dry-run|--dry-run is not an option of rejected",
            "rejected|rejected needs --stack NAME, --local, or --dlq-url",
            "replay --dlq-url u|replay needs --stack NAME, --local, or --queue-url",
            "backfill --project 1 --all|backfill needs --stack NAME, --local, or --queue-url and --table",
            "replay --local --stack s|--local and --stack exclude each other",
            "replay --local --queue-url q|--local uses the make local resources; drop --queue-url",
            "replay --local --region eu-west-1|--region does not apply to --local",
            "backfill --local --all|backfill needs --project P",
            "backfill --local --project 1|backfill needs either --cohort C or --all",
            "backfill --local --project 1 --cohort 2 --all|backfill needs either --cohort C or --all",
            "backfill --local --project 1 --all --name X|--name goes with --cohort",
            "backfill --local --project 1 --all --rate 1.5|--rate must be a whole number >= 1",
            "replay --reconcile --queue-url q --dlq-url d|--queue-url does not go with --reconcile",
            "replay --reconcile-queue-url q --reconcile-dlq-url d|--reconcile-queue-url goes with --reconcile",
            "replay --reconcile --reconcile-dlq-url d|replay --reconcile needs --stack NAME, --local, or --reconcile-queue-url",
            "rejected --reconcile|rejected --reconcile needs --stack NAME, --local, or --reconcile-dlq-url",
            "rejected --reconcile --dlq-url d|--dlq-url does not go with --reconcile",
            "replay --local --reconcile --reconcile-queue-url q|--local uses the make local resources; drop --reconcile-queue-url",
            "replay --local --reconcile=yes|--reconcile takes no value",
            "backfill --local --project 1 --all --reconcile|--reconcile is not an option of backfill"
    })
    void parse_throwsUsageException_whenCommandLineIsWrong(String args, String message) {
        assertThatThrownBy(() -> parse(args == null ? "" : args))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining(message);
    }

    @Test
    void parse_switchesReplayAndRejectedToTheReconcileQueues_whenReconcile() throws UsageException {
        // when
        CommandLine replay = parse("replay --reconcile --reconcile-queue-url http://rq --reconcile-dlq-url http://rdlq");
        CommandLine rejected = parse("rejected --stack cohort-sync --reconcile");
        CommandLine deltas = parse("replay --stack cohort-sync");

        // then
        assertThat(replay.queuePair()).isEqualTo(QueuePair.RECONCILE);
        assertThat(replay.resources()).containsExactlyInAnyOrder(Resource.RECONCILE_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE);
        assertThat(rejected.resources()).containsExactly(Resource.RECONCILE_DEAD_LETTER_QUEUE);
        assertThat(deltas.queuePair()).isEqualTo(QueuePair.DELTAS);
        assertThat(deltas.resources()).containsExactlyInAnyOrder(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE);
    }

    @Test
    void parse_letsAStackSupplyResources_andFlagsOverrideSome() throws UsageException {
        CommandLine line = parse("backfill --stack cohort-sync --queue-url http://other --project 1 --all");

        assertThat(line.value("--stack")).isEqualTo("cohort-sync");
        assertThat(line.value("--queue-url")).isEqualTo("http://other");
        assertThat(line.has("--table")).isFalse();
    }
}
