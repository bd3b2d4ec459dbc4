package io.cohortsync.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * scale.json (every number) and scale.md (the tables {@code make bench-scale} prints): by cohort size,
 * the webhook's pages, the reconcile's time, CPU and heap, DynamoDB units and AWS calls, the least
 * wall time DynamoDB's per-partition limits allow (computed), the growth per 10x, 10M extrapolated
 * from the largest size's per-chunk and per-id figures, the rename, and the targets.
 */
final class ScaleReport {
    static final double LAST_PAGE_MAX_RATIO = 1.5;
    static final double HEAP_MAX_RATIO = 1.2;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ScaleBench.Results r;

    ScaleReport(ScaleBench.Results results) {
        this.r = results;
    }

    // ------------------------------------------------------------------ per size

    /** What one row of the table shows; {@code extrapolated} rows are computed from the largest measured size. */
    record Row(long users, boolean extrapolated, long pages, double pageP50Cpu, double pageP99Cpu, double lastPageCpu,
               double pageP50Wall, double pageP99Wall, double lastPageWall, double lastPageReadUnits,
               double firstPageReadUnits, double reconcileWallS, double reconcileCpuS, double slowestShardS,
               double heapLiveMb, double heapUsedMb, double webhookWcu, double webhookRcu, double reconcileWcu,
               double reconcileRcu, long webhookCalls, long reconcileCalls, long invocations, double webhookBoundS,
               String webhookBoundKey, double reconcileBoundS, String reconcileBoundKey, long passesPerShard,
               long idsStreamed) {
        double lastOverMedianCpu() {
            return pageP50Cpu == 0 ? 0 : lastPageCpu / pageP50Cpu;
        }

        double lastOverMedianWall() {
            return pageP50Wall == 0 ? 0 : lastPageWall / pageP50Wall;
        }
    }

    Row row(ScaleBench.FullSync f) {
        List<Double> cpu = f.pages().stream().map(ScaleBench.Page::cpuMs).toList();
        List<Double> wall = f.pages().stream().map(ScaleBench.Page::wallMs).toList();
        ScaleBench.Page last = f.pages().getLast();
        ScaleBench.Reconcile rc = f.reconcile();
        Ledger.PartitionBound wb = f.webhook().partitionBound();
        Ledger.PartitionBound rb = rc.cost().partitionBound();
        return new Row(f.users(), false, f.pageCount(), Stats.percentile(cpu, 50), Stats.percentile(cpu, 99),
                last.cpuMs(), Stats.percentile(wall, 50), Stats.percentile(wall, 99), last.wallMs(),
                last.cost().readUnits(), f.pages().getFirst().cost().readUnits(), rc.wallMs() / 1000,
                rc.cpuMs() / 1000, rc.slowestShardMs() / 1000, mb(rc.heapLiveBytes()), mb(rc.heapUsedBytes()),
                f.webhook().writeUnits(), f.webhook().readUnits(), rc.cost().writeUnits(), rc.cost().readUnits(),
                f.webhook().awsCalls(), rc.cost().awsCalls(), rc.invocations(), wb.seconds(), wb.kind(), rb.seconds(),
                rb.kind(), passes(f.perShardSessionIds()), rc.idsStreamed());
    }

    long passes(long perShardIds) {
        return Math.max(1, (perShardIds + r.settings().passIds() - 1) / r.settings().passIds());
    }

    /**
     * The next size up (10x) from the largest one measured, extrapolated: everything that is per page or
     * per chunk times 10; what is per session id streamed (each pass streams its shard's ids again) times
     * the ids the larger size streams (passes x ids per shard); the receipts every page reads (all pages
     * so far) with the pages' count squared; the heap as measured (bounded by the pass size once a shard
     * has more ids than a pass holds, as the largest size's shards have, else no extrapolation).
     */
    Row extrapolate(ScaleBench.FullSync f) {
        Row m = row(f);
        double k = 10;
        long perShard10 = (long) Math.ceil(f.perShardSessionIds() * k);
        long passes10 = passes(perShard10);
        ScaleBench.Reconcile rc = f.reconcile();
        // Session ids streamed: each exit job (count, then apply) streams its shard's ids once per pass.
        double idsRatio = (double) (passes10 * perShard10) / (passes(f.perShardSessionIds()) * (double) f.perShardSessionIds());
        double cpuChunks = rc.cpuMs() - rc.streamCpuMs();
        double cpu10 = cpuChunks * k + rc.streamCpuMs() * idsRatio;
        double wall10 = rc.cpuMs() == 0 ? 0 : rc.wallMs() * cpu10 / rc.cpuMs();
        double slowest10 = rc.cpuMs() == 0 ? 0 : rc.slowestShardMs() * cpu10 / rc.cpuMs();
        double idReads = rc.cost().readUnitsByKind().getOrDefault(ItemKind.SESSION_IDS, 0.0);
        double rcu10 = (rc.cost().readUnits() - idReads) * k + idReads * idsRatio;
        long calls10 = Math.round((rc.cost().awsCalls() - rc.idQueries()) * k + rc.idQueries() * idsRatio);
        // The webhook: per page x 10, but every page reads every receipt so far (quadratic in pages).
        long pages10 = m.pages() * 10;
        double receipts = f.webhook().readUnitsByKind().getOrDefault(ItemKind.SESSION_RECEIPT, 0.0);
        double receiptBytes = receiptBytes(f);
        double webhookRcu10 = (f.webhook().readUnits() - receipts) * k + receiptReadUnits(pages10, receiptBytes);
        double lastPageRcu10 = m.lastPageReadUnits() - DynamoBilling.query((long) (m.pages() * receiptBytes), true)
                + DynamoBilling.query((long) (pages10 * receiptBytes), true);
        Bound wb = scaledBound(f.webhook(), k, 1);
        Bound rb = scaledBound(rc.cost(), k, idsRatio);
        boolean heapBounded = f.perShardSessionIds() >= r.settings().passIds();
        return new Row(m.users() * 10, true, pages10, m.pageP50Cpu(), m.pageP99Cpu(), m.lastPageCpu(), m.pageP50Wall(),
                m.pageP99Wall(), m.lastPageWall(), lastPageRcu10, m.firstPageReadUnits(), wall10 / 1000, cpu10 / 1000,
                slowest10 / 1000, heapBounded ? m.heapLiveMb() : Double.NaN, heapBounded ? m.heapUsedMb() : Double.NaN,
                m.webhookWcu() * k, webhookRcu10, m.reconcileWcu() * k, rcu10, Math.round(m.webhookCalls() * k), calls10,
                m.invocations(), wb.seconds, wb.key, rb.seconds, rb.key, passes10,
                Math.round(rc.idsStreamed() * idsRatio));
    }

    /** The mean size of the session's page receipts, as the webhook wrote them. */
    private static double receiptBytes(ScaleBench.FullSync f) {
        return ScaleItems.receiptBytes(ScaleItems.sessionPk(new SessionKey(
                new CohortRef(ScaleBench.PROJECT, "scale-" + f.users()), "full-" + f.users())),
                f.pageCount(), f.pageCount(), Shards.COUNT, 1000);
    }

    /** Read units of every page's receipt Query over a session of {@code pages} pages (page p reads p receipts). */
    static double receiptReadUnits(long pages, double receiptBytes) {
        double units = 0;
        for (long p = 1; p <= pages; p++) {
            units += DynamoBilling.query((long) Math.ceil(p * receiptBytes), true);
        }
        return units;
    }

    private record Bound(double seconds, String key) {
    }

    /** The partition bound with membership shards and the R# partition x k, the session's reads x idsRatio. */
    private static Bound scaledBound(Ledger.Totals t, double k, double idsRatio) {
        double worst = 0;
        String key = "none";
        for (Map.Entry<String, double[]> e : t.unitsByPartition().entrySet()) {
            boolean session = e.getKey().startsWith("S#") || e.getKey().startsWith("S!");
            double w = e.getValue()[0] * k / DynamoBilling.PARTITION_WRITE_UNITS_PER_SECOND;
            double rd = e.getValue()[1] * (session ? idsRatio : k) / DynamoBilling.PARTITION_READ_UNITS_PER_SECOND;
            double s = Math.max(w, rd);
            if (s > worst) {
                worst = s;
                key = new Ledger.PartitionBound(s, e.getKey(), w >= rd).kind();
            }
        }
        return new Bound(worst, key);
    }

    List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        r.fullSyncs().forEach(f -> rows.add(row(f)));
        rows.add(extrapolate(r.fullSyncs().getLast()));
        return rows;
    }

    // ------------------------------------------------------------------ targets

    /** @param correctness a promise of the design (every change exactly once), not a performance target */
    record Target(String name, String value, boolean met, String why, boolean correctness) {
    }

    List<Target> targets() {
        List<Target> t = new ArrayList<>();
        for (ScaleBench.FullSync f : r.fullSyncs()) {
            Row row = row(f);
            t.add(new Target("last page <= " + LAST_PAGE_MAX_RATIO + "x the median page, " + users(f.users()),
                    String.format(Locale.ROOT, "%.2fx (%.2f / %.2f ms CPU; wall %.2fx)", row.lastOverMedianCpu(),
                            row.lastPageCpu(), row.pageP50Cpu(), row.lastOverMedianWall()),
                    row.lastOverMedianCpu() <= LAST_PAGE_MAX_RATIO,
                    "our code's thread CPU time in process (the wall time of one page on this shared machine is noisy); "
                            + "the last page queues the exit pass instead of running it", false));
        }
        ScaleBench.FullSync small = find(100_000);
        ScaleBench.FullSync large = find(1_000_000);
        if (small == null || large == null) {
            small = r.fullSyncs().size() >= 2 ? r.fullSyncs().get(r.fullSyncs().size() - 2) : null;
            large = r.fullSyncs().getLast();
        }
        if (small != null) {
            double ratio = heapRatio(small, large);
            long perShardSmall = small.perShardSessionIds();
            long perShardLarge = large.perShardSessionIds();
            int passIds = r.settings().passIds();
            String why = String.format(Locale.ROOT, "live heap after a full GC, above the in-memory table; a pass holds "
                            + "min(RECONCILE_PASS_IDS = %,d, a shard's session ids): %,d ids per shard at %s, %,d at %s",
                    passIds, Math.min(passIds, perShardSmall), users(small.users()), Math.min(passIds, perShardLarge),
                    users(large.users()));
            if (ratio > HEAP_MAX_RATIO) {
                why += String.format(Locale.ROOT, ". Not met, by %.1fx against %.1fx: the heap is bounded by the pass "
                                + "size, not by the cohort, but at %s no shard has %,d session ids yet, so its passes are "
                                + "smaller and so is the heap; from %,d users (%,d per shard x 16) up a pass is full and "
                                + "the heap stays flat (10M: passes of the same size, %d per shard instead of %d)",
                        ratio, HEAP_MAX_RATIO, users(small.users()), passIds, (long) passIds * Shards.COUNT, passIds,
                        passes((long) Math.ceil(large.perShardSessionIds() * 10.0)), passes(large.perShardSessionIds()));
            }
            t.add(new Target("reconcile peak heap within " + HEAP_MAX_RATIO + "x between " + users(small.users()) + " and "
                    + users(large.users()), String.format(Locale.ROOT, "%.2fx (%.1f MB / %.1f MB)", ratio,
                    mb(large.reconcile().heapLiveBytes()), mb(small.reconcile().heapLiveBytes())),
                    ratio <= HEAP_MAX_RATIO, why, false));
        }
        for (ScaleBench.Rename rn : r.renames()) {
            long failed = rn.reconcile().failed();
            t.add(new Target("every member of the renamed " + users(rn.users()) + " cohort announced exactly once"
                    + (rn.crash() ? ", with a crash mid-rename" : ""),
                    String.format(Locale.ROOT, "%,d of %,d once; %,d missing, %,d twice, %,d malformed", rn.exactlyOnce(),
                            rn.users(), rn.missing(), rn.twice(), rn.malformed()), rn.everyMemberOnce(),
                    rn.crash() ? String.format(Locale.ROOT, "%d invocation died after committing half of a chunk and "
                                    + "SQS delivered its job again; %,d deltas were queued twice with the same content "
                                    + "(same messageId: Segment keeps one)", failed, rn.duplicateCopies())
                            : "distinct re-announcements per member, from every delta queued; final state checked too",
                    true));
        }
        for (ScaleBench.FullSync f : r.fullSyncs()) {
            boolean ok = f.stateCorrect() && f.exitsAnnounced() == f.exits() && f.exitsRepeated() == 0
                    && f.entersAnnounced() == 0 && f.outcome() != null
                    && f.outcome().status() == SessionOutcome.Status.APPLIED
                    && f.outcome().exits() == f.exits();
            t.add(new Target("full sync of " + users(f.users()) + ": exactly the absent members exit, once",
                    String.format(Locale.ROOT, "%,d exits announced of %,d absent; outcome %s", f.exitsAnnounced(), f.exits(),
                            f.outcome()), ok, "every member's final state checked", true));
        }
        return t;
    }

    private ScaleBench.FullSync find(int users) {
        return r.fullSyncs().stream().filter(f -> f.users() == users).findFirst().orElse(null);
    }

    private static double heapRatio(ScaleBench.FullSync small, ScaleBench.FullSync large) {
        return small.reconcile().heapLiveBytes() <= 0 ? Double.POSITIVE_INFINITY
                : (double) large.reconcile().heapLiveBytes() / small.reconcile().heapLiveBytes();
    }

    boolean allMet() {
        return targets().stream().allMatch(Target::met);
    }

    /** Whether every promise held (each change exactly once); performance targets may still be missed. */
    boolean promisesHeld() {
        return targets().stream().filter(Target::correctness).allMatch(Target::met);
    }

    // ------------------------------------------------------------------ Markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        ScaleBench.Settings s = r.settings();
        md.append("## cohort-sync at scale (make bench-scale)\n\n");
        md.append("Full syncs with ").append(fmt(100 * s.exitShare(), 0)).append("% of the cohort absent, pages of ")
                .append(fmt(s.pageSize(), 0)).append(", through the real webhook and reconciler handlers on in-memory ports ")
                .append("billed by DynamoDB's rules; RECONCILE_PASS_IDS ").append(fmt(s.passIds(), 0))
                .append(". Times are our code in process on this machine, one handler call at a time. The last row is ")
                .append("**extrapolated** from the largest size's per-chunk and per-id figures, not run.\n\n");
        md.append("| cohort | pages | webhook page CPU p50 / p99 / last, ms (wall) | last / median | reconcile wall / CPU, s "
                + "(slowest shard) | reconcile heap, MB live (used) | DynamoDB WCU / RCU: webhook; reconcile | AWS calls: "
                + "webhook; reconcile (invocations) | least wall from partition limits, computed: session pages; reconcile |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        List<Row> rows = rows();
        for (Row row : rows) {
            md.append("| ").append(users(row.users())).append(row.extrapolated() ? " (extrapolated)" : "").append(" | ")
                    .append(fmt(row.pages(), 0)).append(" | ")
                    .append(fmt(row.pageP50Cpu(), 2)).append(" / ").append(fmt(row.pageP99Cpu(), 2)).append(" / ")
                    .append(fmt(row.lastPageCpu(), 2)).append(" (").append(fmt(row.pageP50Wall(), 1)).append(" / ")
                    .append(fmt(row.pageP99Wall(), 1)).append(" / ").append(fmt(row.lastPageWall(), 1)).append(") | ")
                    .append(fmt(row.lastOverMedianCpu(), 2)).append("x | ")
                    .append(fmt(row.reconcileWallS(), 2)).append(" / ").append(fmt(row.reconcileCpuS(), 2)).append(" (")
                    .append(fmt(row.slowestShardS(), 2)).append(") | ")
                    .append(Double.isNaN(row.heapLiveMb()) ? "n/a" : fmt(row.heapLiveMb(), 1)).append(" (")
                    .append(Double.isNaN(row.heapUsedMb()) ? "n/a" : fmt(row.heapUsedMb(), 0)).append(") | ")
                    .append(fmt(row.webhookWcu(), 0)).append(" / ").append(fmt(row.webhookRcu(), 0)).append("; ")
                    .append(fmt(row.reconcileWcu(), 0)).append(" / ").append(fmt(row.reconcileRcu(), 0)).append(" | ")
                    .append(fmt(row.webhookCalls(), 0)).append("; ").append(fmt(row.reconcileCalls(), 0)).append(" (")
                    .append(row.invocations()).append(") | ")
                    .append(fmt(row.webhookBoundS(), 1)).append(" s; ").append(fmt(row.reconcileBoundS(), 1)).append(" s (")
                    .append(row.reconcileBoundKey()).append(") |\n");
        }
        md.append("\n**Growth per 10x** (each figure over the one of the size 10x smaller):\n\n");
        md.append("| | ");
        for (int i = 1; i < rows.size(); i++) {
            md.append(users(rows.get(i - 1).users())).append(" -> ").append(users(rows.get(i).users()))
                    .append(rows.get(i).extrapolated() ? " (extrapolated)" : "").append(" | ");
        }
        md.append("\n|---|").append("---|".repeat(rows.size() - 1)).append('\n');
        growth(md, rows, "webhook page CPU, median", Row::pageP50Cpu);
        growth(md, rows, "last page CPU", Row::lastPageCpu);
        growth(md, rows, "last page read units (its receipt and the page counter, not the session so far)", Row::lastPageReadUnits);
        growth(md, rows, "webhook read units, whole session", Row::webhookRcu);
        growth(md, rows, "reconcile CPU", Row::reconcileCpuS);
        growth(md, rows, "reconcile heap (live)", Row::heapLiveMb);
        growth(md, rows, "reconcile write units", Row::reconcileWcu);
        growth(md, rows, "reconcile read units", Row::reconcileRcu);
        growth(md, rows, "session ids streamed by the passes", Row::idsStreamed);
        growth(md, rows, "reconcile AWS calls", row -> row.reconcileCalls());
        growth(md, rows, "least wall time from partition limits, reconcile", Row::reconcileBoundS);

        if (!r.renames().isEmpty()) {
            md.append("\n**Rename** (one call under the new name, then the reconciler re-announces every member):\n\n");
            md.append("| | request: CPU ms, AWS calls | reconcile wall / CPU, s (slowest shard) | heap, MB live (used) | "
                    + "DynamoDB WCU / RCU | AWS calls (invocations) | least wall from partition limits, computed | "
                    + "announced exactly once | same delta queued twice |\n|---|---|---|---|---|---|---|---|---|\n");
            for (ScaleBench.Rename rn : r.renames()) {
                renameRow(md, rn, 1, false);
            }
            renameRow(md, r.renames().getFirst(), 10, true);
        }
        md.append("\n**Targets**\n\n| target | value | met | why |\n|---|---|---|---|\n");
        for (Target t : targets()) {
            md.append("| ").append(t.name()).append(" | ").append(t.value()).append(" | ")
                    .append(t.met() ? "met" : "**not met**").append(" | ").append(t.why()).append(" |\n");
        }
        md.append("\nHow: ").append(howNote()).append("\n");
        return md.toString();
    }

    private void renameRow(StringBuilder md, ScaleBench.Rename rn, double k, boolean extrapolated) {
        ScaleBench.Reconcile rc = rn.reconcile();
        Ledger.PartitionBound b = rc.cost().partitionBound();
        md.append("| ").append(users((long) (rn.users() * k))).append(extrapolated ? " (extrapolated, x10 per chunk)"
                        : rn.crash() ? ", crash mid-rename (" + rc.failed() + " invocation died, redelivered)" : "")
                .append(" | ").append(fmt(rn.request().cpuMs(), 2)).append(" ms, ").append(rn.request().cost().awsCalls())
                .append(" | ").append(fmt(rc.wallMs() * k / 1000, 2)).append(" / ").append(fmt(rc.cpuMs() * k / 1000, 2))
                .append(" (").append(fmt(rc.slowestShardMs() * k / 1000, 2)).append(") | ")
                .append(fmt(mb(rc.heapLiveBytes()), 1)).append(" (").append(fmt(mb(rc.heapUsedBytes()), 0)).append(") | ")
                .append(fmt(rc.cost().writeUnits() * k, 0)).append(" / ").append(fmt(rc.cost().readUnits() * k, 0)).append(" | ")
                .append(fmt(rc.cost().awsCalls() * k, 0)).append(" (").append(rc.invocations()).append(") | ")
                .append(fmt(b.seconds() * k, 1)).append(" s (").append(b.kind()).append(") | ")
                .append(extrapolated ? "-" : (rn.everyMemberOnce() ? "yes, " : "**no**, ") + fmt(rn.exactlyOnce(), 0))
                .append(" | ").append(extrapolated ? "-" : fmt(rn.duplicateCopies(), 0)).append(" |\n");
    }

    private static void growth(StringBuilder md, List<Row> rows, String label, ToDoubleFunction<Row> f) {
        md.append("| ").append(label).append(" | ");
        for (int i = 1; i < rows.size(); i++) {
            double a = f.applyAsDouble(rows.get(i - 1));
            double b = f.applyAsDouble(rows.get(i));
            md.append(Double.isNaN(a) || Double.isNaN(b) || a == 0 ? "-" : fmt(b / a, 2) + "x").append(" | ");
        }
        md.append('\n');
    }

    String howNote() {
        ScaleBench.Settings s = r.settings();
        return "each page is one call of the real WebhookHandler with a Mixpanel body of " + s.pageSize()
                + " members (parsing, auth, diff, the page's receipts, logs and metrics formatted and dropped), timed with "
                + "the calling thread's CPU clock and the wall clock; the reconcile is every job the pages queued, one "
                + "ReconcilerHandler call per job as its event source mapping delivers them (batch 1), until the queue is "
                + "empty, in this one thread (on Lambda the 16 shards run at once: the slowest shard is the critical path "
                + "of our code). DynamoDB units: write units per started KB of the larger of the old and new item, read "
                + "units per 4 KB, strongly consistent reads whole and eventually consistent ones half, a Query billed on "
                + "the bytes it read, a transaction twice, from the adapters' item sizes. The least wall time is "
                + "computed: each partition key takes 1,000 write units and 3,000 read units a second, partitions work in "
                + "parallel, so the busiest decides (nothing else is assumed slower). Heap: live = after a full GC at every "
                + s.heapEvery() + " chunks and after each job's first, minus the same measure just before the reconcile (the "
                + "in-memory table, which on AWS is in DynamoDB); used = peak heap in use, sampled every 5 ms, garbage "
                + "included, minus the same baseline. Those GCs' time is left out of the reconcile's times. "
                + "JVM: " + r.jvm() + ". Run took " + fmt(r.seconds(), 0) + " s.";
    }

    // ------------------------------------------------------------------ JSON

    ObjectNode json() {
        ObjectNode root = JSON.createObjectNode();
        ScaleBench.Settings s = r.settings();
        ObjectNode settings = root.putObject("settings");
        settings.putPOJO("sizes", s.sizes());
        settings.put("exit_share", s.exitShare());
        settings.put("rename_users", s.renameUsers());
        settings.put("reconcile_pass_ids", s.passIds());
        settings.put("reconcile_chunk", r.reconciler().reconcile().chunk());
        settings.put("page_size", s.pageSize());
        settings.put("heap_sample_every_chunks", s.heapEvery());
        settings.put("jvm", r.jvm());
        settings.put("seconds", round(r.seconds(), 1));
        ArrayNode table = root.putArray("full_syncs");
        List<Row> rows = rows();
        for (int i = 0; i < rows.size(); i++) {
            ObjectNode n = JSON.valueToTree(rows.get(i));
            if (i < r.fullSyncs().size()) {
                ScaleBench.FullSync f = r.fullSyncs().get(i);
                n.put("exits", f.exits());
                n.put("exits_announced", f.exitsAnnounced());
                n.put("state_correct", f.stateCorrect());
                n.put("outcome", String.valueOf(f.outcome()));
                n.put("session_ids_per_shard", f.perShardSessionIds());
                n.set("webhook_cost", cost(f.webhook()));
                n.set("reconcile_cost", cost(f.reconcile().cost()));
                n.put("reconcile_chunks", f.reconcile().chunks());
                n.put("reconcile_stream_cpu_ms", round(f.reconcile().streamCpuMs(), 1));
                n.put("heap_samples", f.reconcile().heapSamples());
                n.put("heap_baseline_mb", round(mb(f.reconcile().heapBaselineBytes()), 1));
                n.put("page_cpu_ms_first", round(f.pages().getFirst().cpuMs(), 3));
                n.set("jobs", jobs(f.reconcile()));
            } else {
                n.put("note", "extrapolated from the largest measured size (ScaleReport.extrapolate), not run");
            }
            table.add(n);
        }
        ArrayNode renames = root.putArray("renames");
        for (ScaleBench.Rename rn : r.renames()) {
            ObjectNode n = renames.addObject();
            n.put("users", rn.users());
            n.put("crash", rn.crash());
            n.put("announced_exactly_once", rn.exactlyOnce());
            n.put("missing", rn.missing());
            n.put("twice", rn.twice());
            n.put("malformed", rn.malformed());
            n.put("duplicate_copies", rn.duplicateCopies());
            n.put("state_correct", rn.stateCorrect());
            n.put("every_member_once", rn.everyMemberOnce());
            n.put("request_cpu_ms", round(rn.request().cpuMs(), 3));
            n.set("request_cost", cost(rn.request().cost()));
            n.put("reconcile_wall_s", round(rn.reconcile().wallMs() / 1000, 3));
            n.put("reconcile_cpu_s", round(rn.reconcile().cpuMs() / 1000, 3));
            n.put("slowest_shard_s", round(rn.reconcile().slowestShardMs() / 1000, 3));
            n.put("heap_live_mb", round(mb(rn.reconcile().heapLiveBytes()), 2));
            n.put("heap_used_mb", round(mb(rn.reconcile().heapUsedBytes()), 1));
            n.put("invocations", rn.reconcile().invocations());
            n.put("failed_invocations", rn.reconcile().failed());
            n.put("chunks", rn.reconcile().chunks());
            n.set("reconcile_cost", cost(rn.reconcile().cost()));
            Ledger.PartitionBound b = rn.reconcile().cost().partitionBound();
            n.put("least_wall_s_partition_limits_computed", round(b.seconds(), 2));
            n.put("least_wall_partition", b.kind());
        }
        ArrayNode targets = root.putArray("targets");
        for (Target t : targets()) {
            ObjectNode n = targets.addObject();
            n.put("target", t.name());
            n.put("value", t.value());
            n.put("met", t.met());
            n.put("why", t.why());
        }
        root.put("how", howNote());
        return root;
    }

    private static ObjectNode cost(Ledger.Totals t) {
        ObjectNode n = JSON.createObjectNode();
        n.put("write_units", t.writeUnits());
        n.put("read_units", t.readUnits());
        ObjectNode w = n.putObject("write_units_by_item");
        t.writeUnitsByKind().forEach((k, v) -> w.put(k.label, v));
        ObjectNode rd = n.putObject("read_units_by_item");
        t.readUnitsByKind().forEach((k, v) -> rd.put(k.label, v));
        n.set("aws_calls", JSON.valueToTree(t.calls()));
        n.put("sqs_billed_requests", t.sqsBilledRequests());
        n.put("delta_messages", t.deltaMessages());
        n.put("deltas", t.deltas());
        n.put("job_messages", t.jobMessages());
        Ledger.PartitionBound b = t.partitionBound();
        n.put("least_wall_s_partition_limits_computed", round(b.seconds(), 3));
        n.put("least_wall_partition", b.kind());
        return n;
    }

    private static ArrayNode jobs(ScaleBench.Reconcile rc) {
        ArrayNode a = JSON.createArrayNode();
        for (ScaleBench.Job j : rc.jobs()) {
            ObjectNode n = a.addObject();
            n.put("kind", j.kind());
            n.put("shard", j.shard());
            n.put("receive", j.receiveCount());
            n.put("wall_ms", round(j.wallMs(), 2));
            n.put("cpu_ms", round(j.cpuMs(), 2));
            n.put("failed", j.failed());
        }
        return a;
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("scale.json"), JSON.writeValueAsString(json()));
        Files.writeString(dir.resolve("scale.md"), markdown());
    }

    static String users(long n) {
        if (n >= 1_000_000 && n % 1_000_000 == 0) {
            return (n / 1_000_000) + "M";
        }
        if (n >= 10_000 && n % 1_000 == 0) {
            return (n / 1_000) + "k";
        }
        return fmt(n, 0);
    }

    static double mb(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    static double round(double v, int decimals) {
        double f = Math.pow(10, decimals);
        return Math.round(v * f) / f;
    }
}
