package io.cohortsync.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The command line as picocli parses it and the tool checks it: no network. */
class CommandLineTest {

    private static CommandOptions parse(String line) throws UsageException {
        return parse(line.isBlank() ? List.of() : Arrays.asList(line.split(" ")));
    }

    private static CommandOptions parse(List<String> line) throws UsageException {
        return CohortSyncCli.parse(CohortSyncCli.parser(), line);
    }

    @Test
    void parse_readsCommandAndOptions_inAnyOrder() throws UsageException {
        // when
        CommandOptions line = parse("--stack cohort-sync replay --max=5 --dry-run");

        // then
        assertThat(line).isInstanceOfSatisfying(ReplayOptions.class, replay -> {
            assertThat(replay.max).isEqualTo("5");
            assertThat(replay.dryRun).isTrue();
        });
        assertThat(line.stack).isEqualTo("cohort-sync");
        assertThat(line.json()).isFalse();
    }

    @Test
    void positive_returnsDefault_whenOptionAbsent() throws UsageException {
        assertThat(CommandOptions.positive("--limit", null, 1000)).isEqualTo(1000);
        assertThat(CommandOptions.positive("--limit", "7", 1000)).isEqualTo(7);
    }

    @Test
    void parse_readsOutputJson_onEveryCommand() throws UsageException {
        for (String line : List.of("rejected --local --output json", "replay --local --output=json",
                "backfill --local --project 1 --all --output json", "status --local --project 1 --cohort 2 --output json")) {
            assertThat(parse(line).json()).as(line).isTrue();
        }
    }

    @Test
    void parse_acceptsExplicitResources_withoutStack() throws UsageException {
        CommandOptions line = parse("replay --queue-url http://q --dlq-url http://dlq");

        assertThat(line.value("--queue-url")).isEqualTo("http://q");
        assertThat(line.value("--dlq-url")).isEqualTo("http://dlq");
    }

    @Test
    void parse_acceptsBackfillOfOneCohort_withNameFromTheCommandLine() throws UsageException {
        CommandOptions line = parse(List.of("backfill", "--local", "--project", "2195193", "--cohort", "1457721",
                "--name", "Power users (30d)", "--include-exits", "--rate", "500"));

        assertThat(line).isInstanceOfSatisfying(BackfillOptions.class, backfill -> {
            assertThat(backfill.name).isEqualTo("Power users (30d)");
            assertThat(backfill.includeExits).isTrue();
            assertThat(backfill.rate).isEqualTo("500");
        });
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--help|",
            "-h|",
            "help|",
            "replay --help|replay",
            "backfill -h --all|backfill",
            "help rejected|rejected",
            "replay --max x --bogus --help|replay",
            "status --help|status"
    })
    void run_showsHelp_whateverElseIsOnTheLine(String args, String command) {
        CliRun r = CliRun.run(Map.of(), args.split(" "));

        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith(command == null ? "usage: cohort-sync <command>" : "usage: cohort-sync " + command);
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
            "rejected --stack --weird|--stack needs a value",
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
            "backfill --local --project 1 --all --reconcile|--reconcile is not an option of backfill",
            "status --local|status needs --project P and --cohort C",
            "status --local --project 1|status needs --project P and --cohort C",
            "status --project 1 --cohort 2|status needs --stack NAME, --local, or --table",
            "status --local --project 1 --cohort 2 --queue-url q|--queue-url is not an option of status",
            "status --local --project 1 --cohort 2 --limit 0|--limit must be a whole number >= 1",
            "rejected --local --output xml|--output must be text or json, was 'xml'",
            "rejected --local --output|--output needs a value",
            "rejected --local @/etc/hostname|unexpected argument '@/etc/hostname'"
    })
    void parse_throwsUsageException_whenCommandLineIsWrong(String args, String message) {
        assertThatThrownBy(() -> parse(args == null ? "" : args))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining(message);
    }

    @Test
    void parse_switchesReplayAndRejectedToTheReconcileQueues_whenReconcile() throws UsageException {
        // when
        CommandOptions replay = parse("replay --reconcile --reconcile-queue-url http://rq --reconcile-dlq-url http://rdlq");
        CommandOptions rejected = parse("rejected --stack cohort-sync --reconcile");
        CommandOptions deltas = parse("replay --stack cohort-sync");

        // then
        assertThat(replay.reconcile()).isTrue();
        assertThat(replay.resources()).containsExactlyInAnyOrder(Resource.RECONCILE_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE);
        assertThat(rejected.resources()).containsExactly(Resource.RECONCILE_DEAD_LETTER_QUEUE);
        assertThat(deltas.reconcile()).isFalse();
        assertThat(deltas.resources()).containsExactlyInAnyOrder(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE);
    }

    @Test
    void parse_letsAStackSupplyResources_andFlagsOverrideSome() throws UsageException {
        CommandOptions line = parse("backfill --stack cohort-sync --queue-url http://other --project 1 --all");

        assertThat(line.stack).isEqualTo("cohort-sync");
        assertThat(line.value("--queue-url")).isEqualTo("http://other");
        assertThat(line.has("--table")).isFalse();
    }
}
