package io.cohortsync.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A fixed {@link Benchmark.Results} with every part a report reads, made up but shaped like a smoke run
 * (two 1,000-change pages, a 2,000-user no-op re-sync and a full sync with 200 exits), so a report can be
 * rendered without running the benchmark.
 */
final class ReportFixture {
    private ReportFixture() {
    }

    static Benchmark.Results results() {
        Path repo = CostModelTest.repositoryRoot();
        Benchmark.Settings settings = new Benchmark.Settings(repo, repo.resolve("bench/target/fixture"), 2, 1000, 2000,
                0.10, 5, 5, 3, 4, Map.of(), Duration.ofSeconds(1));
        Template template = new Template(1024, List.of("-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1"), 16);
        ObjectNode cpu = new ObjectMapper().createObjectNode();
        cpu.putObject("webhookChangePage").put("meanMs", 7.25);
        cpu.putObject("webhookNoopPage").put("meanMs", 3.5);
        cpu.putObject("webhookFullSyncPage").put("meanMs", 6.75);
        cpu.putObject("sender1000Deltas").put("meanMs", 11.125);
        cpu.putObject("webhookChangePageWithSdk").put("meanMs", 41.0);
        cpu.putObject("webhookFullSyncPageWithSdk").put("meanMs", 37.5);
        cpu.putObject("sender1000DeltasWithSdk").put("meanMs", 29.0);
        List<Benchmark.ColdStartResult> coldStarts = new ArrayList<>();
        for (int f = 0; f < Benchmark.FUNCTIONS.size(); f++) {
            String id = Benchmark.FUNCTIONS.get(f);
            coldStarts.add(new Benchmark.ColdStartResult(id,
                    new ColdStart.Package(id, repo, 20_000_000L + f * 1_234_567L, 9_000_000L + f * 345_678L, 40 + f, 12.5),
                    launches(900 + 40 * f, false), launches(880 + 40 * f, true), launches(400, false),
                    launches(800, false)));
        }
        Phase incremental = phase("incremental", 2, 2000, 2000, 0, 1, 0.5);
        Phase noop = phase("noop", 2, 2000, 0, 16, 0, 0);
        Phase exits = phase("exits", 2, 1800, 200, 16, 1, 0.5);
        return new Benchmark.Results(settings, Prices.load(repo.resolve("bench/prices.json")), template, 16, cpu,
                coldStarts, incremental, noop, exits, Map.of("every change reached Segment once", true), 123.4);
    }

    private static List<ColdStart.Launch> launches(double firstResponse, boolean primed) {
        List<ColdStart.Launch> launches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            double jitter = 13.0 * i;
            launches.add(new ColdStart.Launch(firstResponse + jitter, firstResponse * 0.7 + jitter,
                    firstResponse * 0.3, "{\"statusCode\":200}", primed, primed ? 210 + i : Double.NaN,
                    List.of(primed ? 60.0 + i : 180.0 + i, 30.0 + i, 21.0 + i, 19.0 + i),
                    List.of(primed ? 120 : 2400, 40, 3, 0)));
        }
        return launches;
    }

    /** A phase of {@code pages} webhook pages, one sender invocation per page, {@code jobs} reconciler jobs. */
    private static Phase phase(String name, int pages, long members, long changes, int jobs, int writePerMember,
                               double readPerMember) {
        long perPage = members / pages;
        List<Invocation> webhook = new ArrayList<>();
        List<Invocation> sender = new ArrayList<>();
        List<Invocation> reconciler = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            double writes = perPage * writePerMember + 3;
            Meter.Reading b = reading(writes, perPage * readPerMember + 10, changes > 0 ? 1 : 0, 0);
            webhook.add(new Invocation("webhook", 180.0 + 25 * i, 90.0 + 5 * i,
                    sorted(Map.of("DynamoDb.BatchGetItem", 10L, "DynamoDb.PutItem", (long) writes,
                            "Sqs.SendMessageBatch", changes > 0 ? 1L : 0L)), b, (int) perPage, 120_000, 2_048, 0, 200));
            if (changes > 0) {
                sender.add(new Invocation("sender", 400.0 + 30 * i, 150.0, sorted(Map.of("DynamoDb.BatchGetItem", 20L,
                        "Sqs.DeleteMessageBatch", 1L)), reading(0, changes / pages, 0, 0), (int) (changes / pages), 0,
                        1_024, 1, 0));
            }
        }
        for (int j = 0; j < jobs; j++) {
            reconciler.add(new Invocation("reconciler", 60.0 + j, 25.0 + j, sorted(Map.of("DynamoDb.Query", 2L,
                    "DynamoDb.PutItem", 2L)), reading(2 + (j % 3), 4.5, 0, 1), 1, 300, 512, 0, 0));
        }
        Map<String, Long> calls = new TreeMap<>();
        for (List<Invocation> list : List.of(webhook, sender, reconciler)) {
            list.forEach(i -> i.calls().forEach((k, v) -> calls.merge(k, v, Long::sum)));
        }
        calls.merge("Sqs.ReceiveMessage", 7L, Long::sum); // the event source mapping's own calls
        Meter.Reading total = Meter.Reading.ZERO;
        for (List<Invocation> list : List.of(webhook, sender, reconciler)) {
            for (Invocation i : list) {
                total = total.plus(i.billing());
            }
        }
        int identifies = (int) changes;
        Phase.SegmentStats segment = changes == 0 ? new Phase.SegmentStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                : new Phase.SegmentStats(pages, identifies * 210L, identifies, pages - 1, identifies / pages,
                identifies / pages, 208.5, 2390, 0, 0, 0);
        return new Phase(name, name + " workload", pages, members, changes, webhook, sender, reconciler, calls, total,
                segment, 0.9, 1.3, jobs * 0.07, 10_240, 0);
    }

    private static Meter.Reading reading(double writeUnits, double readUnits, long deltaMessages, long jobMessages) {
        return new Meter.Reading(readUnits, writeUnits, sorted(Map.of(ItemKind.MEMBERSHIP, writeUnits * 0.9,
                ItemKind.SESSION_RECEIPT, writeUnits * 0.1)), sorted(Map.of(ItemKind.MEMBERSHIP,
                (long) (writeUnits * 0.9), ItemKind.SESSION_RECEIPT, 1L)), sorted(Map.of(ItemKind.MEMBERSHIP, readUnits)),
                0, sorted(Map.of("DynamoDb.BatchGetItem", readUnits)),
                sorted(Map.of("Sqs.SendMessageBatch", deltaMessages + jobMessages)),
                deltaMessages + jobMessages, jobMessages, 1_000 * deltaMessages, 0, 0);
    }

    /** Map.of iterates in an order that changes from one JVM to the next; reports render maps in order. */
    private static <K extends Comparable<K>, V> Map<K, V> sorted(Map<K, V> map) {
        return new TreeMap<>(map);
    }
}
