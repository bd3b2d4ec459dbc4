package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.cohortsync.bench.Report.fmt;
import static io.cohortsync.bench.Report.shortName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * results.json and results.md render the same figures (computed once, in {@link Figures}): one fixed set
 * of results, both renderings, every headline figure, target and note of the Markdown checked against the
 * JSON number or text it comes from, as Markdown rounds it.
 */
class ReportTest {
    private static JsonNode json;
    private static String md;

    @BeforeAll
    static void render() {
        Report report = new Report(ReportFixture.results());
        json = report.tree();
        md = report.markdown();
    }

    @Test
    void fixture_hasFiguresThatAreNotZero() {
        // agreement on zeros would prove little: the fixture makes every headline figure a real number
        for (String key : List.of("cost_per_million_changes_usd", "naive_per_million_changes_usd",
                "noop_resync_cost_ratio", "identifies_per_segment_request", "changes_per_second", "webhook_page_p99_ms",
                "webhook_page_p99_ms_modeled_for_aws", "sender_ms_per_1000_deltas", "cpu_ms_per_1000_member_page",
                "full_sync_exits_reconciler_share_of_cost")) {
            assertThat(number(key)).as(key).isPositive();
        }
    }

    @Test
    void costRows_showTheJsonCosts() {
        assertThat(row("cost per million changes (incremental)")).isEqualTo("$" + fmt(number("cost_per_million_changes_usd"), 4)
                + " (" + fmt(number("cost_to_floor_ratio"), 3) + "x floor)");
        assertThat(row("floor (1 write unit per change)")).isEqualTo("$" + fmt(number("floor_per_million_changes_usd"), 4));
        assertThat(row("naive design, same workload")).startsWith("$" + fmt(number("naive_per_million_changes_usd"), 4));
        assertThat(row("same, Lambda CPU as measured live on moto (each call pays a TCP connect there)")).startsWith(
                "$" + fmt(number("cost_per_million_changes_usd_lambda_cpu_measured_on_moto"), 4));
        assertThat(row("same, Lambda billed at the wall time measured on moto (upper bound)")).startsWith(
                "$" + fmt(number("cost_per_million_changes_usd_lambda_at_measured_wall_time"), 4));
        assertThat(row("no-op re-sync of 2,000 users / writing each once"))
                .isEqualTo(fmt(100 * number("noop_resync_cost_ratio"), 1) + "%");
        assertThat(md).contains("| **total** | **$" + fmt(number("cost_per_million_changes_usd"), 4) + "** | **$"
                + fmt(number("naive_per_million_changes_usd"), 4) + "** | **$"
                + fmt(number("floor_per_million_changes_usd"), 4) + "** |");
    }

    @Test
    void throughputAndLatencyRows_showTheJsonFigures() {
        assertThat(row("identifies per Segment request (overall / full requests / fit in 500 KB)")).isEqualTo(
                fmt(number("identifies_per_segment_request"), 0) + " / "
                        + fmt(number("identifies_per_full_segment_request"), 0) + " / "
                        + json.path("segment_identifies_that_fit_one_request").asInt());
        assertThat(row("throughput end to end on this machine (moto)"))
                .isEqualTo(fmt(number("changes_per_second"), 0) + " changes/s");
        assertThat(row("webhook latency per 1,000-user page, p50 / p99 (moto)")).isEqualTo(
                fmt(number("webhook_page_p50_ms"), 0) + " / " + fmt(number("webhook_page_p99_ms"), 0) + " ms");
        assertThat(row("webhook latency per 1,000-change page modelled for AWS, p50 / p99 (CPU x "
                + fmt(json.path("lambda_model").path("cpu_stretch").asDouble(), 2) + " + latency model)")).isEqualTo(
                fmt(number("webhook_page_p50_ms_modeled_for_aws"), 0) + " / "
                        + fmt(number("webhook_page_p99_ms_modeled_for_aws"), 0) + " ms");
        assertThat(row("sender time per 1,000 deltas (moto + stand-in)"))
                .isEqualTo(fmt(number("sender_ms_per_1000_deltas"), 0) + " ms");
        assertThat(row("our CPU per 1,000-member page, warm (change / no-op / full-sync page)"))
                .startsWith(fmt(number("cpu_ms_per_1000_member_page"), 2) + " / "
                        + fmt(json.path("cpu_probe").path("webhookNoopPage").path("meanMs").asDouble(), 2) + " / ");
    }

    @Test
    void coldStartRows_showTheJsonFigures_forEveryFunction() {
        for (String id : Benchmark.FUNCTIONS) {
            String name = shortName(id);
            assertThat(row("cold start " + id + " under the runtime client, median of 3 (first response / bare SDK "
                    + "/ empty handler)")).as(id).startsWith(fmt(number("cold_start_first_response_ms_" + name), 0)
                    + " / " + fmt(number("cold_start_bare_sdk_ms"), 0) + " / "
                    + fmt(number("cold_start_empty_handler_ms_" + name), 0) + " ms = "
                    + fmt(number("cold_start_ratio_to_bare_sdk_" + name), 2) + "x bare SDK, "
                    + fmt(number("cold_start_ratio_" + name), 2) + "x empty");
            assertThat(row("first request " + id + ": without priming / after priming / warm (priming took)")).as(id)
                    .isEqualTo(fmt(number("first_request_ms_" + name), 0) + " / "
                            + fmt(number("first_request_primed_ms_" + name), 0) + " / "
                            + fmt(number("warm_request_ms_" + name), 0) + " ms, primed = "
                            + fmt(number("first_request_primed_to_warm_" + name), 2) + "x warm ("
                            + fmt(number("priming_ms_" + name), 0) + " ms)");
            // the headline package sizes are rounded to 2 decimals in the JSON: compare with its exact byte counts
            JsonNode cold = coldStart(id);
            assertThat(row("package " + id + " (unzipped / zip)")).as(id).isEqualTo(
                    fmt(Report.mb(cold.path("package_unzipped_bytes").asLong()), 1) + " / "
                            + fmt(Report.mb(cold.path("package_zip_bytes").asLong()), 1) + " MB");
            assertThat(number("package_mb_" + name)).as(id)
                    .isEqualTo(Report.round(Report.mb(cold.path("package_unzipped_bytes").asLong()), 2));
        }
    }

    @Test
    void targetsTable_isTheJsonTargets_inOrder() {
        List<String> fromJson = new ArrayList<>();
        for (JsonNode t : json.path("targets")) {
            String met = t.path("met").isNull() ? "n/a" : t.path("met").asBoolean() ? "met" : "**not met**";
            fromJson.add("| " + t.path("target").asText() + " | " + t.path("value").asText() + " | " + met + " | "
                    + t.path("why").asText() + " |");
        }
        String table = md.substring(md.indexOf("### Targets"), md.indexOf("### Dollars per million changes"));
        List<String> rows = table.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| target |")).toList();

        assertThat(fromJson).isNotEmpty();
        assertThat(rows).containsExactlyElementsOf(fromJson);
    }

    @Test
    void notes_showTheJsonShareAndExtrapolation() {
        // the JSON keeps the share to 4 decimals, the Markdown a percentage to 1: equal within both roundings
        Matcher share = Pattern.compile("([0-9.]+)% of the phase's cost\\.").matcher(md);
        assertThat(share.find()).as("the reconciler's share in the Markdown").isTrue();
        assertThat(Double.parseDouble(share.group(1)))
                .isCloseTo(100 * number("full_sync_exits_reconciler_share_of_cost"), within(0.05 + 0.005));
        assertThat(md).contains("What ran: " + json.path("run").path("extrapolation").asText() + " Wall time");
        assertThat(json.path("workloads").path("full_sync_with_exits").path("reconciler").path("share_of_phase_cost")
                .asDouble()).isEqualTo(number("full_sync_exits_reconciler_share_of_cost"));
    }

    /** The value cell of the Markdown summary row whose metric is {@code label}. */
    private static String row(String label) {
        String prefix = "| " + label + " | ";
        List<String> rows = md.lines().filter(l -> l.startsWith(prefix)).toList();
        assertThat(rows).as("the row " + label).hasSize(1);
        String row = rows.getFirst();
        return row.substring(prefix.length(), row.length() - " |".length());
    }

    private static JsonNode coldStart(String functionId) {
        for (JsonNode c : json.path("cold_start")) {
            if (c.path("function").asText().equals(functionId)) {
                return c;
            }
        }
        throw new AssertionError("no cold_start entry for " + functionId);
    }

    private static double number(String key) {
        JsonNode value = json.get(key);
        assertThat(value).as(key).isNotNull();
        assertThat(value.isNumber()).as(key + " is a number").isTrue();
        return value.asDouble();
    }
}
