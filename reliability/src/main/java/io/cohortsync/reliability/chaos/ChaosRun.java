package io.cohortsync.reliability.chaos;

import io.cohortsync.reliability.support.OutputCapture;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs many schedules (schedule {@code i} of run seed {@code S} has seed {@link Seeds#schedule}(S, i),
 * schedule 0 has S itself, so {@code make chaos SEED=<a failing schedule's seed> RUNS=1} replays it) and
 * prints the table. The functions' output is captured per schedule (never echoed: it is scanned for
 * leaks, and kept in {@code failureLogs} for a failing schedule).
 */
public final class ChaosRun {
    private ChaosRun() {
    }

    public static ChaosStats run(long seed, int runs, PrintStream console, OutputCapture capture, Path failureLogs) {
        List<Long> seeds = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            seeds.add(Seeds.schedule(seed, i));
        }
        return run(seeds, console, capture, failureLogs);
    }

    /** Runs the given schedules (each replays alone with {@code make chaos SEED=<its seed> RUNS=1}). */
    public static ChaosStats run(List<Long> scheduleSeeds, PrintStream console, OutputCapture capture,
                                 Path failureLogs) {
        ChaosStats total = new ChaosStats();
        long started = System.nanoTime();
        int runs = scheduleSeeds.size();
        for (int i = 0; i < runs; i++) {
            long scheduleSeed = scheduleSeeds.get(i);
            long scheduleStarted = System.nanoTime();
            capture.drain();
            ChaosStats s = ChaosSchedule.run(scheduleSeed, capture.stream(), capture::text);
            String output = capture.drain();
            total.merge(s);
            if (Boolean.getBoolean("chaos.verbose")) {
                console.printf("  schedule %d (seed %d): %.1f s, %,d AWS requests, %,d changes, %,d reconciler invocations;"
                                + " %d exit passes, %d renames, %d diffs racing a pass, %d marked, %d big, %d upgraded,"
                                + " %d parallel steps, %d reconciler faults%n",
                        i, scheduleSeed, (System.nanoTime() - scheduleStarted) / 1e9, s.counter("AWS requests to the emulator"),
                        s.counter("changes committed"), s.counter("reconciler invocations"),
                        s.counter("exit passes finished (epochs reached)"), s.counter("name versions reached beyond the first"),
                        s.counter("diffs naming users a full sync left out, its exit pass pending"),
                        s.counter("members marked while an exit pass was pending"),
                        s.counter("cohorts with thousands of members"),
                        s.counter("cohorts upgraded from the single-partition layout"),
                        s.counter("steps with connections syncing in parallel"),
                        s.faults().entrySet().stream().filter(e -> e.getKey().startsWith("reconciler "))
                                .mapToLong(Map.Entry::getValue).sum());
            }
            if (!s.violations().isEmpty()) {
                console.printf("schedule %d FAILED: seed %d (replay: make chaos SEED=%d RUNS=1)%n", i, scheduleSeed,
                        scheduleSeed);
                s.violations().stream().limit(12).forEach(v -> console.println("    " + v));
                if (s.violations().size() > 12) {
                    console.println("    … " + (s.violations().size() - 12) + " more");
                }
                keep(failureLogs, scheduleSeed, output + "\n---- diagnostics (driver, not function output) ----\n"
                        + String.join("\n", s.diagnostics()));
            } else if (Boolean.getBoolean("chaos.keepLogs")) {
                keep(failureLogs, scheduleSeed, output);
            }
            if ((i + 1) % 10 == 0 || i + 1 == runs) {
                console.printf("  %d/%d schedules, %.0f s%n", i + 1, runs, (System.nanoTime() - started) / 1e9);
            }
        }
        total.add("wall-clock seconds", Math.round((System.nanoTime() - started) / 1e9));
        return total;
    }

    private static void keep(Path dir, long seed, String output) {
        if (dir == null) {
            return;
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("schedule-" + seed + ".log"), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The table `make chaos` prints. */
    public static void print(long seed, int runs, ChaosStats t, PrintStream out) {
        out.println();
        out.printf("cohort-sync chaos: seed %d, %d schedules%n", seed, runs);
        line(out, "schedules", t.counter("schedules"));
        line(out, "webhook requests (attempts)", t.counter("webhook requests"));
        line(out, "  Mixpanel retries", t.counter("Mixpanel retries"));
        line(out, "  requests Mixpanel gave up on (re-sent by a later sync)", t.counter("requests Mixpanel gave up on"));
        line(out, "  full syncs / restarted from the top", t.counter("full syncs"), t.counter("full syncs restarted from the top"));
        line(out, "  diff syncs", t.counter("diff syncs"));
        line(out, "  cohort renames", t.counter("cohort renames"));
        line(out, "  cohorts with thousands of members", t.counter("cohorts with thousands of members"));
        line(out, "  Segment outages longer than maxReceiveCount polls", t.counter("Segment outages (each longer than maxReceiveCount polls)"));
        line(out, "AWS requests to the emulator", t.counter("AWS requests to the emulator"));
        line(out, "changes committed", t.counter("changes committed"));
        line(out, "identifies accepted by Segment", t.counter("identifies accepted"));
        line(out, "sender invocations", t.counter("sender invocations"));
        line(out, "reconciler invocations (one job each)", t.counter("reconciler invocations"));
        line(out, "  exit passes finished / name versions reached", t.counter("exit passes finished (epochs reached)"),
                t.counter("name versions reached beyond the first"));
        line(out, "DLQ messages (all replayed or poison)", t.counter("DLQ messages"));
        line(out, "reconcile DLQ messages (all replayed or poison)", t.counter("reconcile DLQ messages"));
        out.println("faults injected (that took effect), by kind");
        for (Map.Entry<String, Long> e : t.faults().entrySet()) {
            line(out, "  " + e.getKey(), e.getValue());
        }
        long faults = t.faults().values().stream().mapToLong(Long::longValue).sum();
        line(out, "  all faults", faults);
        out.println("other observations");
        for (String k : List.of("503 because the emulator timed out (no fault injected)", "503 for lost races",
                "503 while the reconciler migrated the cohort", "schedules with a lagging sender",
                "schedules with a lagging reconciler", "steps with connections syncing in parallel",
                "steps with the sender and the reconciler polling during syncs",
                "messages on the delta queue when traffic stopped", "jobs on the reconcile queue when traffic stopped",
                "users with several changes accepted", "older change offered to Segment after a newer one",
                "requests with unusable members", "same change accepted under two cohort names",
                "members marked while an exit pass was pending", "requests that marked members (a pass pending)",
                "diffs naming users a full sync left out, its exit pass pending",
                "users named so (a full sync left them out, its exit pass pending)", "steps with the reconciler paused",
                "cohorts upgraded from the single-partition layout",
                "old names cleared on their own (stale rename deltas)", "exit passes held by the mass-exit guard",
                "segment duplicates dropped by messageId", "segment timeouts seen",
                "sender batch item failures without an injected port fault",
                "reconciler batch item failures without an injected port fault",
                "DLQ: dead-lettered by the sender, with reason",
                "DLQ: redriven by SQS after maxReceiveCount, reason logged",
                "DLQ: redriven by SQS, the sender died on the last receive",
                "DLQ: redriven by SQS after deletes that never happened",
                "reconcile DLQ: failed maxReceiveCount times, reason logged",
                "reconcile DLQ: the reconciler died on the last receive",
                "reconcile DLQ: deletes that never happened", "wall-clock seconds")) {
            line(out, "  " + k, t.counter(k));
        }
        out.println("promises");
        line(out, "lost", t.violations(ChaosStats.LOST));
        line(out, "stale", t.violations(ChaosStats.STALE));
        line(out, "duplicates without the same id", t.violations(ChaosStats.DUPLICATE));
        line(out, "other violations", t.otherViolations());
        t.violations().stream().map(ChaosStats.Violation::kind).distinct().sorted()
                .filter(k -> !List.of(ChaosStats.LOST, ChaosStats.STALE, ChaosStats.DUPLICATE).contains(k))
                .forEach(k -> line(out, "  " + k, t.violations(k)));
        List<Long> failing = t.violations().stream().map(ChaosStats.Violation::scheduleSeed).distinct().toList();
        if (!failing.isEmpty()) {
            out.println("failing schedule seeds (replay one with make chaos SEED=<seed> RUNS=1): " + failing);
        }
    }

    private static void line(PrintStream out, String label, long... values) {
        StringBuilder v = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            v.append(i == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%,d", values[i]));
        }
        out.printf(Locale.ROOT, "  %-66s %12s%n", label, v);
    }
}
