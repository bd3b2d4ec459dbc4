package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.segment.SegmentBatcher;
import io.cohortsync.testkit.LambdaRuntimeProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/** results.json (every number) and results.md (the table printed at the end of {@code make bench}). */
final class Report {
    static final long TARGET_SCALE = 100_000;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Benchmark.Results r;
    private final CostModel model;
    private final CostModel liveCpuModel;
    private final CostModel.Cost incrementalCost;
    private final CostModel.Cost incrementalLiveCpuCost;
    private final CostModel.Cost naiveCost;
    private final CostModel.Cost noopCost;
    private final CostModel.Cost exitsCost;
    /** Every figure both renderings show, computed once here. */
    private final Figures fig;
    private final List<Target> targets;

    Report(Benchmark.Results results) {
        this.r = results;
        this.model = new CostModel(r.prices(), r.template().memoryMb(), r.template().commitConcurrency(), probeCpu());
        this.liveCpuModel = new CostModel(r.prices(), r.template().memoryMb(), r.template().commitConcurrency());
        this.incrementalCost = model.of(r.incremental());
        this.incrementalLiveCpuCost = liveCpuModel.of(r.incremental());
        this.naiveCost = model.naive(r.incremental());
        this.noopCost = model.of(r.noop());
        this.exitsCost = model.of(r.exits());
        this.fig = figures();
        this.targets = List.copyOf(targets());
    }

    /**
     * Lambda CPU per invocation from the CPU probe's pages through the real SDK on an in-memory HTTP
     * client (per 1,000 members or deltas), not from the live runs: moto closes the connection after
     * every request, so there each call also pays a TCP connect (about 0.6 ms of CPU) that a function
     * on kept-alive connections to DynamoDB does not. The reconciler (a full sync's exit pass) has no
     * probe of its own and keeps its live, pessimistic figure.
     */
    private CostModel.CpuEstimate probeCpu() {
        double change = r.cpu().path("webhookChangePageWithSdk").path("meanMs").asDouble(Double.NaN);
        double fullSync = r.cpu().path("webhookFullSyncPageWithSdk").path("meanMs").asDouble(Double.NaN);
        double sender = r.cpu().path("sender1000DeltasWithSdk").path("meanMs").asDouble(Double.NaN);
        return (phase, i) -> {
            double per1000;
            if (i.function().equals("reconciler")) {
                return i.cpuMs();
            } else if (i.function().equals("sender")) {
                per1000 = sender;
            } else if (phase.name().equals("incremental")) {
                per1000 = change;
            } else {
                per1000 = fullSync;
            }
            return Double.isNaN(per1000) ? i.cpuMs() : per1000 * i.units() / 1000.0;
        };
    }

    // ------------------------------------------------------------------ the figures, computed once

    private Figures figures() {
        Phase inc = r.incremental();
        double cost = incrementalCost.perMillion(inc.changes());
        double floor = model.floorPerMillion();
        double naive = naiveCost.perMillion(inc.changes());
        double liveCpu = incrementalLiveCpuCost.perMillion(inc.changes());
        double measuredWall = incrementalCost.totalWithMeasuredDuration() / inc.changes() * 1e6;
        double writeEveryMember = r.noop().members() * r.prices().of("dynamodb_write_request_unit");
        List<Double> pages = inc.webhook().stream().map(Invocation::wallMs).toList();
        List<Double> modeled = inc.webhook().stream().map(i -> model.modeledMs(inc, i)).toList();
        double senderMs = inc.sender().stream().mapToDouble(Invocation::wallMs).sum();
        long senderDeltas = inc.sender().stream().mapToLong(Invocation::units).sum();
        boolean identical = perPageCountsIdentical(inc);
        return new Figures(cost, floor, naive, liveCpu, measuredWall, cost / floor, naive / floor, liveCpu / floor,
                measuredWall / floor, noopCost.total() / writeEveryMember, inc.segment().identifiesPerRequest(),
                inc.segment().identifiesPerFullRequest(), inc.segment().capacityPerRequest(),
                inc.segment().meanMessageBytes(), inc.changes() / (inc.webhookSeconds() + inc.senderSeconds()),
                Stats.percentile(pages, 50), Stats.percentile(pages, 99), Stats.percentile(modeled, 50),
                Stats.percentile(modeled, 99), model.cpuStretch(),
                senderDeltas == 0 ? 0 : senderMs / senderDeltas * 1000, cpu("webhookChangePage"),
                cpu("webhookNoopPage"), cpu("webhookFullSyncPage"), cpu("sender1000Deltas"),
                cpu("webhookChangePageWithSdk"), cpu("webhookFullSyncPageWithSdk"), cpu("sender1000DeltasWithSdk"),
                List.of(reconcilerShare(inc, incrementalCost), reconcilerShare(r.noop(), noopCost),
                        reconcilerShare(r.exits(), exitsCost)),
                identical, extrapolationNote(identical), ColdStartFigures.of(r.coldStarts()));
    }

    /** The CPU probe's mean for one of its cases (ms). */
    private double cpu(String probe) {
        return r.cpu().path(probe).path("meanMs").asDouble();
    }

    static double mb(long bytes) {
        return bytes / 1e6;
    }

    /** {@code WebhookFunction} → {@code webhook}. */
    static String shortName(String functionId) {
        return functionId.replace("Function", "").toLowerCase(Locale.ROOT);
    }

    /**
     * The reconciler's part of a phase's cost: its DynamoDB units and SQS requests (by its invocations),
     * Lambda requests and modelled duration, over the phase's total.
     */
    private double reconcilerShare(Phase p, CostModel.Cost total) {
        if (p.reconciler().isEmpty() || total.total() == 0) {
            return 0;
        }
        Meter.Reading b = Meter.Reading.ZERO;
        double gbs = 0;
        for (Invocation i : p.reconciler()) {
            b = b.plus(i.billing());
            gbs += model.modeledMs(p, i) / 1000.0 * r.template().memoryMb() / 1024.0;
        }
        double usd = b.writeUnits() * r.prices().of("dynamodb_write_request_unit")
                + b.readUnits() * r.prices().of("dynamodb_read_request_unit")
                + b.sqsBilledRequests() * r.prices().of("sqs_standard_request")
                + p.reconciler().size() * r.prices().of("lambda_request")
                + gbs * r.prices().of("lambda_arm64_gb_second");
        return usd / total.total();
    }

    // ------------------------------------------------------------------ JSON

    ObjectNode json() {
        ObjectNode root = JSON.createObjectNode();
        root.put("cost_per_million_changes_usd", round(fig.costPerMillion(), 4));
        root.put("floor_per_million_changes_usd", round(fig.floorPerMillion(), 4));
        root.put("naive_per_million_changes_usd", round(fig.naivePerMillion(), 4));
        root.put("noop_resync_cost_ratio", round(fig.noopRatio(), 4));
        root.put("identifies_per_segment_request", round(fig.identifiesPerRequest(), 1));
        root.put("changes_per_second", round(fig.changesPerSecond(), 1));
        root.put("webhook_page_p50_ms", round(fig.pageP50Ms(), 1));
        root.put("webhook_page_p99_ms", round(fig.pageP99Ms(), 1));
        root.put("cpu_ms_per_1000_member_page", round(fig.cpuPerPage(), 2));
        for (String id : Benchmark.FUNCTIONS) {
            ColdStartFigures c = fig.coldStart(id);
            String name = shortName(id);
            root.put("cold_start_ratio_" + name, round(c.ratio(), 2));
            if (c.pkg() != null) {
                root.put("package_mb_" + name, round(mb(c.pkg().unzippedBytes()), 2));
                root.put("package_zip_mb_" + name, round(mb(c.pkg().zippedBytes()), 2));
            } else {
                root.putNull("package_mb_" + name);
            }
        }
        root.put("cost_to_floor_ratio", round(fig.costToFloor(), 3));
        root.put("cost_per_million_changes_usd_lambda_cpu_measured_on_moto",
                round(fig.liveCpuPerMillion(), 4));
        root.put("cost_per_million_changes_usd_lambda_at_measured_wall_time",
                round(fig.measuredWallPerMillion(), 4));
        root.put("identifies_per_full_segment_request", round(fig.identifiesPerFullRequest(), 1));
        root.put("segment_identifies_that_fit_one_request", fig.capacityPerRequest());
        root.put("segment_mean_identify_bytes", round(fig.meanIdentifyBytes(), 1));
        root.put("sender_ms_per_1000_deltas", round(fig.senderMsPer1000(), 1));
        root.put("webhook_page_p50_ms_modeled_for_aws", fig.modeledPageP50Ms());
        root.put("webhook_page_p99_ms_modeled_for_aws", fig.modeledPageP99Ms());
        for (String id : Benchmark.FUNCTIONS) {
            ColdStartFigures c = fig.coldStart(id);
            root.put("cold_start_first_response_ms_" + shortName(id), round(c.firstResponseMs(), 1));
            root.put("cold_start_empty_handler_ms_" + shortName(id), round(c.emptyFirstResponseMs(), 1));
            root.put("cold_start_ratio_to_bare_sdk_" + shortName(id), round(c.bareSdkRatio(), 2));
            root.put("cold_start_init_ms_" + shortName(id), round(c.initMs(), 1));
            root.put("cold_start_first_invoke_ms_" + shortName(id), round(c.firstInvokeMs(), 1));
            root.put("first_request_ms_" + shortName(id), round(c.firstRequestMs(), 1));
            root.put("first_request_primed_ms_" + shortName(id), round(c.primedFirstRequestMs(), 1));
            root.put("warm_request_ms_" + shortName(id), round(c.warmRequestMs(), 1));
            root.put("first_request_primed_to_warm_" + shortName(id), round(c.primedToWarm(), 2));
            root.put("priming_ms_" + shortName(id), round(c.primingMs(), 1));
        }
        ColdStartFigures any = fig.coldStart(Benchmark.FUNCTIONS.getFirst());
        root.put("cold_start_runtime", "aws-lambda-java-runtime-interface-client " + runtimeClientVersion());
        root.put("cold_start_runtime_start_ms", round(any.runtimeStartMs(), 1));
        root.put("cold_start_empty_handler_ms", round(any.emptyFirstResponseMs(), 1));
        root.put("cold_start_bare_sdk_ms", round(any.bareSdkFirstResponseMs(), 1));
        root.put("cold_start_bare_sdk_init_ms", round(any.bareSdkInitMs(), 1));
        root.put("cold_start_bare_sdk_first_invoke_ms", round(any.bareSdkFirstInvokeMs(), 1));
        root.put("full_sync_exits_reconciler_invocations", r.exits().reconciler().size());
        root.put("full_sync_exits_reconciler_share_of_cost", round(fig.exitsReconcilerShare(), 4));

        ArrayNode targetList = root.putArray("targets");
        for (Target t : targets) {
            ObjectNode n = targetList.addObject();
            n.put("target", t.name);
            n.put("value", t.value);
            if (t.met == null) {
                n.putNull("met");
            } else {
                n.put("met", t.met);
            }
            n.put("why", t.why);
        }
        root.set("run", run());
        ObjectNode workloads = root.putObject("workloads");
        workloads.set("incremental", phase(r.incremental(), incrementalCost, fig.reconcilerShares().get(0)));
        workloads.set("noop_resync", phase(r.noop(), noopCost, fig.reconcilerShares().get(1)));
        workloads.set("full_sync_with_exits", phase(r.exits(), exitsCost, fig.reconcilerShares().get(2)));
        ObjectNode naive = root.putObject("naive_design_on_incremental_workload");
        naive.put("model", "per listed member: one SQS message (sent alone, received and deleted 10 at a time), "
                + "one GetItem (eventually consistent) and one PutItem, calls made one after another; per change one "
                + "Segment request; Lambda CPU and log volume per invocation as measured for ours");
        naive.set("usd_by_line", lines(naiveCost));
        naive.put("total_usd", naiveCost.total());
        root.set("cpu_probe", r.cpu());
        ArrayNode cold = root.putArray("cold_start");
        for (ColdStartFigures c : fig.coldStarts()) {
            ObjectNode n = cold.addObject();
            n.put("function", c.function());
            n.put("first_response_ms_median", round(c.firstResponseMs(), 1));
            n.put("empty_handler_first_response_ms_median", round(c.emptyFirstResponseMs(), 1));
            n.put("ratio", round(c.ratio(), 2));
            n.put("first_response_ms_fastest", round(c.fastest(), 1));
            n.put("empty_handler_first_response_ms_fastest", round(c.emptyFastest(), 1));
            n.put("bare_sdk_first_response_ms_median", round(c.bareSdkFirstResponseMs(), 1));
            n.put("bare_sdk_first_response_ms_fastest", round(c.bareSdkFastest(), 1));
            n.put("ratio_to_bare_sdk", round(c.bareSdkRatio(), 2));
            n.put("runtime_start_ms_median", round(c.runtimeStartMs(), 1));
            n.put("init_ms_median", round(c.initMs(), 1));
            n.put("first_invoke_ms_median", round(c.firstInvokeMs(), 1));
            n.put("first_request_ms_median", round(c.firstRequestMs(), 1));
            n.put("first_request_primed_ms_median", round(c.primedFirstRequestMs(), 1));
            n.put("warm_request_ms_median", round(c.warmRequestMs(), 1));
            n.put("first_request_primed_to_warm", round(c.primedToWarm(), 2));
            n.put("priming_ms_median", round(c.primingMs(), 1));
            n.put("requests_per_launch", c.launches().getFirst().requestMs().size());
            ArrayNode runs = n.putArray("runs");
            for (int i = 0; i < c.launches().size(); i++) {
                ObjectNode run = runs.addObject();
                // init_ms: process start to the runtime's first GET /next (Lambda's Init Duration), runtime included
                run.put("first_response_ms", round(c.launches().get(i).firstResponseMs(), 1));
                run.put("init_ms", round(c.launches().get(i).initMs(), 1));
                run.put("invoke_ms", round(c.launches().get(i).invokeMs(), 1));
                run.put("empty_first_response_ms", round(c.emptyLaunches().get(i).firstResponseMs(), 1));
                run.put("empty_init_ms", round(c.emptyLaunches().get(i).initMs(), 1));
                run.put("bare_sdk_first_response_ms", round(c.bareSdkLaunches().get(i).firstResponseMs(), 1));
                run.put("bare_sdk_init_ms", round(c.bareSdkLaunches().get(i).initMs(), 1));
                // request_ms: each request, event taken to response posted; classes_loaded: the classes the JVM
                // loaded in that window. primed_*: the same package under SnapStart's flow (primed_init_ms runs to
                // the first GET /next: init, the hooks, the restore), priming_ms as the primer logged it.
                run.set("request_ms", doubles(c.launches().get(i).requestMs()));
                ColdStart.Launch primed = c.primedLaunches().get(i);
                run.put("primed_first_response_ms", round(primed.firstResponseMs(), 1));
                run.put("primed_init_ms", round(primed.initMs(), 1));
                run.put("priming_ms", round(primed.primeMs(), 1));
                run.set("primed_request_ms", doubles(primed.requestMs()));
                run.putPOJO("classes_loaded", c.launches().get(i).classesLoaded());
                run.putPOJO("primed_classes_loaded", primed.classesLoaded());
            }
            n.put("first_response", c.launches().getFirst().response());
            if (c.pkg() != null) {
                n.put("package_unzipped_bytes", c.pkg().unzippedBytes());
                n.put("package_zip_bytes", c.pkg().zippedBytes());
                n.put("package_jars", c.pkg().jars());
                if (c.pkg().buildSeconds() > 0) {
                    n.put("package_build_seconds", round(c.pkg().buildSeconds(), 1));
                } else {
                    n.putNull("package_build_seconds"); // reused: built earlier from an identical tree
                }
            }
        }
        ObjectNode checks = root.putObject("checks");
        r.checks().forEach((k, v) -> checks.putPOJO(k, v));
        root.set("prices", r.prices().raw());
        ObjectNode lambda = root.putObject("lambda_model");
        lambda.put("memory_mb", r.template().memoryMb());
        lambda.put("jvm_options", r.template().javaToolOptionsString());
        lambda.put("cpu_stretch", round(fig.cpuStretch(), 3));
        lambda.put("cpu_source", "the CPU probe's pages through the real SDK on an in-memory HTTP client (moto closes every "
                + "connection, so live CPU includes a TCP connect per call); the exit-pass page keeps its live CPU");
        lambda.put("commit_concurrency_modeled", r.template().commitConcurrency());
        lambda.put("commit_concurrency_run", r.commitConcurrency());
        return root;
    }

    private ObjectNode run() {
        ObjectNode run = JSON.createObjectNode();
        Benchmark.Settings s = r.settings();
        run.put("wall_seconds", round(r.totalSeconds(), 1));
        run.put("incremental_changes_run", r.incremental().changes());
        run.put("full_sync_cohort_run", s.fullSyncUsers());
        run.put("page_size", s.pageSize());
        run.put("extrapolation", fig.extrapolation());
        run.put("incremental_per_page_counts_identical", fig.incrementalPerPageCountsIdentical());
        run.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        run.put("processors", Runtime.getRuntime().availableProcessors());
        return run;
    }

    private String extrapolationNote(boolean perPageIdentical) {
        long ran = r.incremental().changes();
        StringBuilder note = new StringBuilder();
        if (ran == TARGET_SCALE) {
            note.append("incremental: run at full scale (").append(ran).append(" changes). ");
        } else {
            note.append("incremental: ran ").append(ran).append(" changes (").append(r.incremental().pages())
                    .append(" pages of ").append(r.settings().pageSize()).append("); every AWS count per page is ")
                    .append(perPageIdentical ? "identical across pages of a kind"
                            : "NOT identical across pages (see workloads.incremental.per_page)")
                    .append(", so totals for ").append(TARGET_SCALE).append(" changes are the measured totals x ")
                    .append(round((double) TARGET_SCALE / ran, 3)).append(" (workloads.incremental.extrapolated_to_100k);")
                    .append(" per-change costs need no extrapolation. ");
        }
        if (r.settings().fullSyncUsers() == TARGET_SCALE) {
            note.append("no-op re-sync and full sync with exits: run at full scale (").append(TARGET_SCALE).append(" users).");
        } else {
            note.append("no-op re-sync and full sync with exits: ran a ").append(r.settings().fullSyncUsers())
                    .append("-user cohort; counts are linear in users (per page, and Query bytes in the exit pass), ")
                    .append("extrapolated x").append(round((double) TARGET_SCALE / r.settings().fullSyncUsers(), 3)).append(".");
        }
        return note.toString();
    }

    /**
     * Whether every add page made the same calls and was billed the same as every other add page, and
     * likewise for removes (pages alternate add, remove). Secrets Manager reads are left out: they
     * happen once per container and cache period, not per page.
     */
    static boolean perPageCountsIdentical(Phase p) {
        Map<Integer, TreeSet<String>> byKind = new TreeMap<>();
        for (int i = 0; i < p.webhook().size(); i++) {
            Invocation inv = p.webhook().get(i);
            Map<String, Long> calls = new TreeMap<>(inv.calls());
            calls.keySet().removeIf(op -> op.startsWith("SecretsManager."));
            String signature = calls + "|wru=" + inv.billing().writeUnits() + "|rru=" + inv.billing().readUnits()
                    + "|sqs=" + inv.billing().sqsBilledRequests();
            byKind.computeIfAbsent(i % 2, k -> new TreeSet<>()).add(signature);
        }
        return byKind.values().stream().allMatch(set -> set.size() == 1);
    }

    private ObjectNode phase(Phase p, CostModel.Cost cost, double reconcilerShare) {
        ObjectNode n = JSON.createObjectNode();
        n.put("description", p.description());
        n.put("pages", p.pages());
        n.put("members_listed", p.members());
        n.put("changes", p.changes());
        n.put("webhook_invocations", p.webhook().size());
        n.put("reconciler_invocations", p.reconciler().size());
        n.put("sender_invocations", p.sender().size());
        n.set("aws_requests", JSON.valueToTree(p.calls()));
        n.set("aws_requests_by_webhook", JSON.valueToTree(sum(p.webhook())));
        n.set("aws_requests_by_reconciler", JSON.valueToTree(sum(p.reconciler())));
        n.set("aws_requests_by_sender", JSON.valueToTree(sum(p.sender())));
        n.set("aws_requests_by_event_source_mapping", JSON.valueToTree(p.eventSourceCalls()));
        Meter.Reading b = p.billing();
        ObjectNode dynamo = n.putObject("dynamodb");
        dynamo.put("write_units", b.writeUnits());
        dynamo.put("membership_write_units", b.membershipWriteUnits());
        dynamo.put("session_write_units", b.sessionWriteUnits());
        dynamo.put("membership_writes", b.membershipWrites());
        dynamo.put("session_writes", b.sessionWrites());
        dynamo.put("failed_conditional_writes", b.failedConditionalWrites());
        dynamo.set("write_units_by_item", byKind(b.writeUnitsByKind()));
        dynamo.set("writes_by_item", byKind(b.writesByKind()));
        dynamo.put("read_units", b.readUnits());
        dynamo.set("read_units_by_item", byKind(b.readUnitsByKind()));
        dynamo.set("read_units_by_operation", JSON.valueToTree(b.readUnitsByOp()));
        dynamo.put("items_priced_without_shadow", b.shadowMismatches());
        if (!p.reconciler().isEmpty()) {
            ObjectNode rec = n.putObject("reconciler");
            Meter.Reading rb = Meter.Reading.ZERO;
            for (Invocation i : p.reconciler()) {
                rb = rb.plus(i.billing());
            }
            rec.put("invocations", p.reconciler().size());
            rec.put("seconds_on_moto", round(p.reconcilerSeconds(), 1));
            rec.put("cpu_ms_measured", round(p.reconciler().stream().mapToDouble(Invocation::cpuMs).sum(), 1));
            rec.put("write_units", rb.writeUnits());
            rec.put("read_units", rb.readUnits());
            rec.set("write_units_by_item", byKind(rb.writeUnitsByKind()));
            rec.set("read_units_by_item", byKind(rb.readUnitsByKind()));
            rec.put("sqs_billed_requests", rb.sqsBilledRequests());
            rec.put("share_of_phase_cost", round(reconcilerShare, 4));
        }
        ObjectNode sqs = n.putObject("sqs");
        sqs.put("billed_requests", b.sqsBilledRequests());
        sqs.set("billed_requests_by_operation", JSON.valueToTree(b.sqsBilledByOp()));
        sqs.put("messages_sent", b.sqsMessagesSent());
        sqs.put("payload_bytes_sent", b.sqsPayloadBytesSent());
        sqs.put("messages_received", b.sqsMessagesReceived());
        sqs.put("failed_records_redelivered", p.failedRecords());
        Phase.SegmentStats seg = p.segment();
        ObjectNode segment = n.putObject("segment");
        segment.put("requests", seg.requests());
        segment.put("bytes", seg.bytes());
        segment.put("identifies", seg.identifies());
        segment.put("identifies_per_request", round(seg.identifiesPerRequest(), 1));
        segment.put("full_requests", seg.fullRequests());
        segment.put("identifies_per_full_request", round(seg.identifiesPerFullRequest(), 1));
        segment.put("max_identifies_in_a_request", seg.maxPerRequest());
        segment.put("mean_identify_bytes", round(seg.meanMessageBytes(), 1));
        segment.put("identifies_that_fit_one_request", seg.capacityPerRequest());
        segment.put("non_200_answers", seg.non200());
        ObjectNode timing = n.putObject("timing_on_this_machine");
        List<Double> pages = p.webhook().stream().map(Invocation::wallMs).toList();
        timing.put("webhook_seconds", round(p.webhookSeconds(), 1));
        timing.put("sender_seconds", round(p.senderSeconds(), 1));
        timing.put("webhook_page_p50_ms", round(Stats.percentile(pages, 50), 1));
        timing.put("webhook_page_p99_ms", round(Stats.percentile(pages, 99), 1));
        timing.put("webhook_page_max_ms", round(Stats.percentile(pages, 100), 1));
        timing.put("webhook_cpu_ms_per_page_mean", round(p.webhook().stream().mapToDouble(Invocation::cpuMs).average().orElse(0), 1));
        timing.put("sender_invocation_p50_ms", round(Stats.percentile(p.sender().stream().map(Invocation::wallMs).toList(), 50), 1));
        timing.put("log_bytes", p.logBytes());
        ObjectNode costs = n.putObject("cost");
        costs.set("usd_by_line", lines(cost));
        costs.put("total_usd", cost.total());
        costs.put("total_usd_lambda_at_measured_wall_time", cost.totalWithMeasuredDuration());
        costs.put("lambda_gb_seconds_modeled", round(cost.lambdaGbSeconds(), 3));
        costs.put("lambda_gb_seconds_measured_wall", round(cost.lambdaGbSecondsMeasured(), 3));
        if (p.changes() > 0) {
            costs.put("per_million_changes_usd", round(cost.perMillion(p.changes()), 4));
        }
        double scale = (double) TARGET_SCALE / (p.name().equals("incremental") ? p.changes() : r.settings().fullSyncUsers());
        if (Math.abs(scale - 1) > 1e-9) {
            ObjectNode x = n.putObject("extrapolated_to_100k");
            x.put("factor", round(scale, 4));
            Map<String, Long> calls = new TreeMap<>();
            p.calls().forEach((k, v) -> calls.put(k, Math.round(v * scale)));
            x.set("aws_requests", JSON.valueToTree(calls));
            x.put("dynamodb_write_units", round(b.writeUnits() * scale, 1));
            x.put("dynamodb_read_units", round(b.readUnits() * scale, 1));
            x.put("sqs_billed_requests", Math.round(b.sqsBilledRequests() * scale));
            x.put("segment_requests", Math.round(seg.requests() * scale));
            x.put("total_usd", cost.total() * scale);
        }
        ArrayNode perPage = n.putArray("per_page");
        for (Invocation i : p.webhook()) {
            ObjectNode pg = perPage.addObject();
            pg.put("wall_ms", round(i.wallMs(), 1));
            pg.put("cpu_ms", round(i.cpuMs(), 1));
            pg.put("modeled_lambda_ms", model.modeledMs(p, i));
            pg.put("modeled_lambda_ms_live_cpu", liveCpuModel.modeledMs(i));
            pg.set("calls", JSON.valueToTree(i.calls()));
            pg.put("write_units", i.billing().writeUnits());
            pg.put("read_units", i.billing().readUnits());
            pg.put("sqs_billed", i.billing().sqsBilledRequests());
            pg.put("log_bytes", i.logBytes());
        }
        return n;
    }

    private static <V> ObjectNode byKind(Map<ItemKind, V> values) {
        ObjectNode n = JSON.createObjectNode();
        values.forEach((k, v) -> n.putPOJO(k.label, v));
        return n;
    }

    private static Map<String, Long> sum(List<Invocation> invocations) {
        Map<String, Long> total = new TreeMap<>();
        invocations.forEach(i -> i.calls().forEach((k, v) -> total.merge(k, v, Long::sum)));
        return total;
    }

    private static ObjectNode lines(CostModel.Cost cost) {
        ObjectNode n = JSON.createObjectNode();
        cost.lines().forEach(n::put);
        return n;
    }

    // ------------------------------------------------------------------ targets

    record Target(String name, String value, Boolean met, String why) {
    }

    /** Each target and whether it is met, from the figures (computed once, rendered by both formats). */
    private List<Target> targets() {
        List<Target> t = new ArrayList<>();
        double ratio = fig.costToFloor();
        double share = incrementalCost.lines().get("Lambda duration") / incrementalCost.total();
        t.add(new Target("cost per million changes <= 1.25x the floor",
                String.format(Locale.ROOT, "$%.4f = %.3fx floor ($%.3f)", fig.costPerMillion(), ratio, fig.floorPerMillion()),
                ratio <= 1.25, String.format(Locale.ROOT, "DynamoDB alone is %.2fx (writes 1 unit and reads 2 x 0.5 unit per "
                        + "change: the webhook's diff and the sender's still-current check); Lambda duration %.1f%% of the "
                        + "total (modelled; with Lambda CPU as measured on moto %.3fx, at moto's wall time %.3fx); SQS %.1f%%",
                (incrementalCost.lines().get("DynamoDB writes") + incrementalCost.lines().get("DynamoDB reads"))
                        / r.incremental().changes() * 1e6 / fig.floorPerMillion(),
                100 * share, fig.liveCpuToFloor(), fig.measuredWallToFloor(),
                100 * incrementalCost.lines().get("SQS") / incrementalCost.total())));
        Meter.Reading noop = r.noop().billing();
        long deltaMessages = noop.deltaMessagesSent();
        boolean clean = noop.membershipWrites() == 0 && deltaMessages == 0 && r.noop().segment().requests() == 0;
        t.add(new Target("no-op re-sync: no membership writes, no delta messages, no Segment requests",
                noop.membershipWrites() + " membership writes, " + deltaMessages + " delta messages, "
                        + r.noop().segment().requests() + " Segment requests", clean,
                noop.sessionWrites() + " session writes (" + fmt(noop.sessionWriteUnits(), 0) + " write units: the page "
                        + "receipts and their per-shard id pieces); the exit pass is " + noop.sqsJobMessagesSent()
                        + " reconcile jobs, " + fmt(noop.writeUnits(ItemKind.CHECKPOINT) + noop.writeUnits(ItemKind.RECONCILE_SUMMARY), 0)
                        + " write units of checkpoints and summaries"));
        t.add(new Target("no-op re-sync cost <= 15% of writing every member once",
                String.format(Locale.ROOT, "%.1f%%", 100 * fig.noopRatio()), fig.noopRatio() <= 0.15,
                "largest lines: " + largest(noopCost)));
        boolean sizesAllow = fig.capacityPerRequest() >= 2000;
        double neededBytes = (SegmentBatcher.MAX_REQUEST_BYTES - SegmentBatcher.RESERVED_BYTES + 1) / 2000.0 - 1;
        t.add(new Target("Segment >= 2,000 identifies per request when sizes allow",
                String.format(Locale.ROOT, "%.0f per full request (%.0f overall)", fig.identifiesPerFullRequest(),
                        fig.identifiesPerRequest()), fig.identifiesPerFullRequest() >= 2000,
                sizesAllow ? "requests are filled to the limits"
                        : String.format(Locale.ROOT, "our identifies are %.0f bytes, so Segment's 500 KB holds %d and full requests "
                                + "carry %.1f%% of that; 2,000 needs identifies of at most %.0f bytes", fig.meanIdentifyBytes(),
                        fig.capacityPerRequest(), 100 * fig.identifiesPerFullRequest() / fig.capacityPerRequest(), Math.floor(neededBytes))));
        t.add(new Target("our CPU per 1,000-user page <= 20 ms warm",
                String.format(Locale.ROOT, "%.2f ms (no-op page %.2f, full-sync page %.2f, sender per 1,000 deltas %.2f)",
                        fig.cpuPerPage(), fig.cpuNoopPage(), fig.cpuFullSyncPage(), fig.cpuSender1000()),
                fig.cpuPerPage() <= 20, "thread CPU time, handlers on in-memory ports, " + r.template().javaToolOptionsString()
                + ", x86 here (Lambda: arm64)"));
        ColdStartFigures w = fig.coldStart("WebhookFunction");
        ColdStartFigures rc = fig.coldStart("ReconcilerFunction");
        ColdStartFigures s = fig.coldStart("SenderFunction");
        double worst = Math.max(w.bareSdkRatio(), Math.max(rc.bareSdkRatio(), s.bareSdkRatio()));
        t.add(new Target("cold start under the Lambda runtime client: each function's first response <= 1.2x the "
                + "bare-SDK handler's, same run",
                String.format(Locale.ROOT, "webhook %.0f ms = %.2fx, reconciler %.0f ms = %.2fx, sender %.0f ms = %.2fx "
                                + "(bare SDK %.0f ms, empty handler %.0f ms)", w.firstResponseMs(), w.bareSdkRatio(),
                        rc.firstResponseMs(), rc.bareSdkRatio(), s.firstResponseMs(), s.bareSdkRatio(),
                        w.bareSdkFirstResponseMs(), w.emptyFirstResponseMs()), worst <= 1.2,
                String.format(Locale.ROOT, "medians of %d; what is over the bare SDK's: init %+.0f / %+.0f / %+.0f ms, first "
                                + "invoke %+.0f / %+.0f / %+.0f ms (webhook / reconciler / sender); on-demand init, no SnapStart "
                                + "restore here (the template enables it), x86 and JDK %d here (Lambda: arm64, java21)",
                        w.launches().size(), w.initMs() - w.bareSdkInitMs(), rc.initMs() - w.bareSdkInitMs(),
                        s.initMs() - w.bareSdkInitMs(), w.firstInvokeMs() - w.bareSdkFirstInvokeMs(),
                        rc.firstInvokeMs() - w.bareSdkFirstInvokeMs(), s.firstInvokeMs() - w.bareSdkFirstInvokeMs(),
                        Runtime.version().feature())));
        t.add(new Target("SnapStart: first request after priming <= 2x a warm request",
                String.format(Locale.ROOT, "webhook %.0f ms = %.2fx, reconciler %.0f ms = %.2fx, sender %.0f ms = %.2fx",
                        w.primedFirstRequestMs(), w.primedToWarm(), rc.primedFirstRequestMs(), rc.primedToWarm(),
                        s.primedFirstRequestMs(), s.primedToWarm()),
                w.primedToWarm() <= 2 && rc.primedToWarm() <= 2 && s.primedToWarm() <= 2,
                String.format(Locale.ROOT, "warm %.0f / %.0f / %.0f ms; without priming the first request takes %.0f / %.0f / "
                                + "%.0f ms; under the Lambda runtime client with AWS_LAMBDA_INITIALIZATION_TYPE=snap-start (it runs the "
                                + "hooks, GET /restore/next, afterRestore, then the first request in the same JVM: no snapshot "
                                + "is taken, none can be here), medians of launches, on moto", w.warmRequestMs(), rc.warmRequestMs(),
                        s.warmRequestMs(), w.firstRequestMs(), rc.firstRequestMs(), s.firstRequestMs())));
        return t;
    }

    private static String largest(CostModel.Cost cost) {
        return cost.lines().entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(3)
                .map(e -> String.format(Locale.ROOT, "%s %.0f%%", e.getKey(), 100 * e.getValue() / cost.total()))
                .reduce((a, b) -> a + ", " + b).orElse("");
    }

    // ------------------------------------------------------------------ Markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("## cohort-sync benchmark\n\n");
        md.append("| metric | value |\n|---|---|\n");
        row(md, "cost per million changes (incremental)", "$" + fmt(fig.costPerMillion(), 4)
                + " (" + fmt(fig.costToFloor(), 3) + "x floor)");
        row(md, "floor (1 write unit per change)", "$" + fmt(fig.floorPerMillion(), 4));
        row(md, "naive design, same workload", "$" + fmt(fig.naivePerMillion(), 4) + " (" + fmt(fig.naiveToFloor(), 2) + "x floor)");
        row(md, "same, Lambda CPU as measured live on moto (each call pays a TCP connect there)", "$"
                + fmt(fig.liveCpuPerMillion(), 4) + " (" + fmt(fig.liveCpuToFloor(), 3) + "x floor)");
        row(md, "same, Lambda billed at the wall time measured on moto (upper bound)", "$"
                + fmt(fig.measuredWallPerMillion(), 4) + " (" + fmt(fig.measuredWallToFloor(), 3) + "x floor)");
        row(md, "no-op re-sync of " + fmt(r.noop().members(), 0) + " users / writing each once", fmt(100 * fig.noopRatio(), 1) + "%");
        row(md, "identifies per Segment request (overall / full requests / fit in 500 KB)",
                fmt(fig.identifiesPerRequest(), 0) + " / " + fmt(fig.identifiesPerFullRequest(), 0)
                        + " / " + fig.capacityPerRequest());
        row(md, "throughput end to end on this machine (moto)", fmt(fig.changesPerSecond(), 0) + " changes/s");
        row(md, "webhook latency per 1,000-user page, p50 / p99 (moto)", fmt(fig.pageP50Ms(), 0)
                + " / " + fmt(fig.pageP99Ms(), 0) + " ms");
        row(md, "webhook latency per 1,000-change page modelled for AWS, p50 / p99 (CPU x " + fmt(fig.cpuStretch(), 2)
                + " + latency model)", fmt(fig.modeledPageP50Ms(), 0) + " / "
                + fmt(fig.modeledPageP99Ms(), 0) + " ms");
        row(md, "sender time per 1,000 deltas (moto + stand-in)", fmt(fig.senderMsPer1000(), 0) + " ms");
        row(md, "our CPU per 1,000-member page, warm (change / no-op / full-sync page)", fmt(fig.cpuPerPage(), 2) + " / "
                + fmt(fig.cpuNoopPage(), 2) + " / " + fmt(fig.cpuFullSyncPage(), 2) + " ms");
        row(md, "CPU with the AWS SDK, no network: change page / full-sync page / sender per 1,000 deltas",
                fmt(fig.cpuChangePageWithSdk(), 0) + " / " + fmt(fig.cpuFullSyncPageWithSdk(), 0) + " / "
                        + fmt(fig.cpuSender1000WithSdk(), 0) + " ms");
        for (String id : Benchmark.FUNCTIONS) {
            ColdStartFigures c = fig.coldStart(id);
            row(md, "cold start " + id + " under the runtime client, median of " + c.launches().size()
                            + " (first response / bare SDK / empty handler)",
                    fmt(c.firstResponseMs(), 0) + " / " + fmt(c.bareSdkFirstResponseMs(), 0) + " / "
                            + fmt(c.emptyFirstResponseMs(), 0) + " ms = " + fmt(c.bareSdkRatio(), 2) + "x bare SDK, "
                            + fmt(c.ratio(), 2) + "x empty (fastest runs: " + fmt(c.fastest(), 0) + " / "
                            + fmt(c.emptyFastest(), 0) + " ms)");
            row(md, "first request " + id + ": without priming / after priming / warm (priming took)",
                    fmt(c.firstRequestMs(), 0) + " / " + fmt(c.primedFirstRequestMs(), 0) + " / " + fmt(c.warmRequestMs(), 0)
                            + " ms, primed = " + fmt(c.primedToWarm(), 2) + "x warm (" + fmt(c.primingMs(), 0) + " ms)");
            if (c.pkg() != null) {
                row(md, "package " + id + " (unzipped / zip)", fmt(mb(c.pkg().unzippedBytes()), 1) + " / "
                        + fmt(mb(c.pkg().zippedBytes()), 1) + " MB");
            }
        }
        runtimeClientTable(md, fig.coldStarts());
        primingTable(md, fig.coldStarts());
        md.append("\n### Targets\n\n| target | value | met | why |\n|---|---|---|---|\n");
        for (Target t : targets) {
            md.append("| ").append(t.name).append(" | ").append(t.value).append(" | ")
                    .append(t.met == null ? "n/a" : t.met ? "met" : "**not met**").append(" | ").append(t.why).append(" |\n");
        }
        md.append("\n### Dollars per million changes, by line (incremental workload)\n\n");
        md.append("| line | ours | naive | floor |\n|---|---|---|---|\n");
        long changes = r.incremental().changes();
        for (String line : incrementalCost.lines().keySet()) {
            md.append("| ").append(line).append(" | $").append(fmt(incrementalCost.lines().get(line) / changes * 1e6, 4))
                    .append(" | $").append(fmt(naiveCost.lines().getOrDefault(line, 0.0) / changes * 1e6, 4)).append(" | ")
                    .append(line.equals("DynamoDB writes") ? "$" + fmt(fig.floorPerMillion(), 4) : "-").append(" |\n");
        }
        md.append("| **total** | **$").append(fmt(fig.costPerMillion(), 4)).append("** | **$")
                .append(fmt(fig.naivePerMillion(), 4)).append("** | **$").append(fmt(fig.floorPerMillion(), 4))
                .append("** |\n");
        md.append("\n### AWS requests per 1,000 changes, by caller (incremental workload)\n\n");
        md.append("| API | webhook | sender | event source mapping |\n|---|---|---|---|\n");
        Map<String, Long> byWebhook = sum(r.incremental().webhook());
        Map<String, Long> bySender = sum(r.incremental().sender());
        Map<String, Long> byMapping = r.incremental().eventSourceCalls();
        TreeSet<String> apis = new TreeSet<>(r.incremental().calls().keySet());
        double per = 1000.0 / changes;
        for (String api : apis) {
            md.append("| ").append(api).append(" | ").append(fmt(byWebhook.getOrDefault(api, 0L) * per, 2)).append(" | ")
                    .append(fmt(bySender.getOrDefault(api, 0L) * per, 2)).append(" | ")
                    .append(fmt(byMapping.getOrDefault(api, 0L) * per, 2)).append(" |\n");
        }
        md.append("\n### A full sync with exits, by caller (").append(fmt(r.exits().members(), 0))
                .append(" members listed, ").append(fmt(r.exits().changes(), 0)).append(" exits)\n\n");
        md.append("| API | webhook | reconciler | sender | event source mappings |\n|---|---|---|---|---|\n");
        Map<String, Long> exitWebhook = sum(r.exits().webhook());
        Map<String, Long> exitReconciler = sum(r.exits().reconciler());
        Map<String, Long> exitSender = sum(r.exits().sender());
        Map<String, Long> exitMapping = r.exits().eventSourceCalls();
        for (String api : new TreeSet<>(r.exits().calls().keySet())) {
            md.append("| ").append(api).append(" | ").append(fmt(exitWebhook.getOrDefault(api, 0L), 0)).append(" | ")
                    .append(fmt(exitReconciler.getOrDefault(api, 0L), 0)).append(" | ")
                    .append(fmt(exitSender.getOrDefault(api, 0L), 0)).append(" | ")
                    .append(fmt(exitMapping.getOrDefault(api, 0L), 0)).append(" |\n");
        }
        Meter.Reading rec = Meter.Reading.ZERO;
        for (Invocation i : r.exits().reconciler()) {
            rec = rec.plus(i.billing());
        }
        md.append("\nThe reconciler's part: ").append(r.exits().reconciler().size()).append(" invocations, ")
                .append(fmt(rec.writeUnits(), 0)).append(" write units (").append(byKindText(rec.writeUnitsByKind()))
                .append("), ").append(fmt(rec.readUnits(), 1)).append(" read units (")
                .append(byKindText(rec.readUnitsByKind())).append("), ")
                .append(fmt(100 * fig.exitsReconcilerShare(), 1)).append("% of the phase's cost.\n");
        md.append("\n### Workloads (as run)\n\n");
        md.append("| | incremental | no-op re-sync | full sync with exits |\n|---|---|---|---|\n");
        List<Phase> phases = List.of(r.incremental(), r.noop(), r.exits());
        List<CostModel.Cost> costs = List.of(incrementalCost, noopCost, exitsCost);
        phaseRow(md, "pages / members listed / changes", phases, p -> p.pages() + " / " + fmt(p.members(), 0) + " / " + fmt(p.changes(), 0));
        TreeSet<String> ops = new TreeSet<>();
        phases.forEach(p -> ops.addAll(p.calls().keySet()));
        for (String op : ops) {
            phaseRow(md, op, phases, p -> fmt(p.calls().getOrDefault(op, 0L), 0));
        }
        phaseRow(md, "DynamoDB write units (membership + session + other)", phases, p -> fmt(p.billing().writeUnits(), 0)
                + " (" + fmt(p.billing().membershipWriteUnits(), 0) + " + " + fmt(p.billing().sessionWriteUnits(), 0) + " + "
                + fmt(p.billing().writeUnits() - p.billing().membershipWriteUnits() - p.billing().sessionWriteUnits(), 0) + ")");
        phaseRow(md, "DynamoDB write units by item", phases, p -> byKindText(p.billing().writeUnitsByKind()));
        phaseRow(md, "DynamoDB read units", phases, p -> fmt(p.billing().readUnits(), 1));
        phaseRow(md, "DynamoDB read units by item", phases, p -> byKindText(p.billing().readUnitsByKind()));
        phaseRow(md, "SQS billed requests (delta / job messages sent)", phases, p -> fmt(p.billing().sqsBilledRequests(), 0)
                + " (" + p.billing().deltaMessagesSent() + " / " + p.billing().sqsJobMessagesSent() + ")");
        phaseRow(md, "Segment requests / identifies / bytes", phases, p -> p.segment().requests() + " / "
                + fmt(p.segment().identifies(), 0) + " / " + fmt(p.segment().bytes(), 0));
        phaseRow(md, "Lambda invocations (webhook + reconciler + sender)", phases, p -> p.webhook().size() + " + "
                + p.reconciler().size() + " + " + p.sender().size());
        phaseRow(md, "log bytes", phases, p -> fmt(p.logBytes(), 0));
        md.append("| cost, USD (modelled Lambda duration) |");
        for (CostModel.Cost c : costs) {
            md.append(" $").append(fmt(c.total(), 6)).append(" |");
        }
        md.append("\n| cost per million changes |");
        for (int i = 0; i < phases.size(); i++) {
            md.append(phases.get(i).changes() == 0 ? " - |" : " $" + fmt(costs.get(i).perMillion(phases.get(i).changes()), 4) + " |");
        }
        md.append("\n\n");
        md.append("What ran: ").append(fig.extrapolation()).append(" Wall time of the benchmark: ")
                .append(fmt(r.totalSeconds(), 0)).append(" s.\n\n");
        md.append("Notes: DynamoDB units are computed by DynamoDB's rules from item sizes (moto's ConsumedCapacity is a "
                + "constant per call); SQS requests count each 64 KB of payload; the event source mappings' receives and "
                + "deletes come from a local stand-in of them, an approximation of AWS's pollers; Lambda duration is modelled "
                + "from CPU measured through the real SDK without a network (the reconciler: its CPU as measured on moto) "
                + "and call counts with bench/prices.json's latency model (an assumption), the moto-measured alternatives "
                + "are shown above; latency and throughput are moto's, not AWS's.\n");
        return md.toString();
    }

    /**
     * The cold starts side by side: every handler through the same runtime client in the same rounds. Runtime
     * start is the empty handler's init; a handler's init is its own (process start to its first GET /next)
     * less that; first invoke is its first event taken to its response posted.
     */
    /** The on-demand cold starts: empty handler, bare SDK, each function; runtime start / init / first invoke. */
    static void runtimeClientTable(StringBuilder md, List<ColdStartFigures> results) {
        ColdStartFigures any = results.getFirst();
        md.append("\n### Cold start under the Lambda runtime client (aws-lambda-java-runtime-interface-client ")
                .append(runtimeClientVersion()).append("), medians of ").append(any.launches().size())
                .append(" rounds\n\n| handler | first response | runtime start | init | first invoke | vs bare SDK | fastest run |\n")
                .append("|---|---|---|---|---|---|---|\n");
        double runtime = any.runtimeStartMs();
        md.append("| empty handler (one class, no lib/) | ").append(fmt(any.emptyFirstResponseMs(), 0)).append(" ms | ")
                .append(fmt(runtime, 0)).append(" ms | - | ").append(fmt(any.emptyFirstInvokeMs(), 0)).append(" ms | ")
                .append(fmt(any.emptyFirstResponseMs() / any.bareSdkFirstResponseMs(), 2)).append("x | ")
                .append(fmt(any.emptyFastest(), 0)).append(" ms |\n");
        md.append("| bare SDK (DynamoDB + SQS clients; one Jackson parse, GetItem, SendMessage) | ")
                .append(fmt(any.bareSdkFirstResponseMs(), 0)).append(" ms | ").append(fmt(runtime, 0)).append(" ms | ")
                .append(fmt(any.bareSdkInitMs(), 0)).append(" ms | ").append(fmt(any.bareSdkFirstInvokeMs(), 0))
                .append(" ms | 1.00x | ").append(fmt(any.bareSdkFastest(), 0)).append(" ms |\n");
        for (ColdStartFigures c : results) {
            md.append("| ").append(c.function()).append(" | ").append(fmt(c.firstResponseMs(), 0)).append(" ms | ")
                    .append(fmt(runtime, 0)).append(" ms | ").append(fmt(c.initMs(), 0)).append(" ms | ")
                    .append(fmt(c.firstInvokeMs(), 0)).append(" ms | ").append(fmt(c.bareSdkRatio(), 2)).append("x | ")
                    .append(fmt(c.fastest(), 0)).append(" ms (").append(fmt(c.fastest() / c.bareSdkFastest(), 2))
                    .append("x) |\n");
        }
    }

    /** SnapStart priming: each function's first request on-demand, after priming, and warm. */
    static void primingTable(StringBuilder md, List<ColdStartFigures> results) {
        md.append("\n### First request without and after SnapStart priming, under the runtime client, medians of ")
                .append(results.getFirst().primedLaunches().size()).append(" launches of ")
                .append(results.getFirst().launches().getFirst().requestMs().size()).append(" requests\n\n")
                .append("| function | first request: on-demand / primed / warm | primed / warm, same JVM | priming "
                        + "| classes loaded by the first request: on-demand / primed |\n|---|---|---|---|---|\n");
        for (ColdStartFigures c : results) {
            md.append("| ").append(c.function()).append(" | ").append(fmt(c.firstRequestMs(), 0)).append(" / ")
                    .append(fmt(c.primedFirstRequestMs(), 0)).append(" / ").append(fmt(c.warmRequestMs(), 0))
                    .append(" ms | ").append(fmt(c.primedToWarm(), 2)).append("x | ").append(fmt(c.primingMs(), 0))
                    .append(" ms | ").append(c.launches().getFirst().classesLoaded().getFirst()).append(" / ")
                    .append(c.primedLaunches().getFirst().classesLoaded().getFirst()).append(" (first run) |\n");
        }
    }

    /** The runtime client's version, from the jar testkit runs. */
    static String runtimeClientVersion() {
        return LambdaRuntimeProcess.runtimeClasspath().stream().map(p -> p.getFileName().toString())
                .filter(n -> n.startsWith("aws-lambda-java-runtime-interface-client-"))
                .map(n -> n.substring("aws-lambda-java-runtime-interface-client-".length(), n.length() - ".jar".length()))
                .findFirst().orElse("?");
    }

    private static <V extends Number> String byKindText(Map<ItemKind, V> values) {
        return values.entrySet().stream().filter(e -> e.getValue().doubleValue() != 0)
                .sorted((a, b) -> Double.compare(b.getValue().doubleValue(), a.getValue().doubleValue()))
                .map(e -> e.getKey().label + " " + fmt(e.getValue().doubleValue(), e.getValue() instanceof Double ? 1 : 0))
                .reduce((a, b) -> a + ", " + b).orElse("none");
    }

    private static void phaseRow(StringBuilder md, String label, List<Phase> phases, Function<Phase, String> f) {
        md.append("| ").append(label).append(" |");
        for (Phase p : phases) {
            md.append(" ").append(f.apply(p)).append(" |");
        }
        md.append('\n');
    }

    private static void row(StringBuilder md, String metric, String value) {
        md.append("| ").append(metric).append(" | ").append(value).append(" |\n");
    }

    static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    /** The cold starts' tables alone ({@code -Dbench.only=cold-start}). */
    static String coldStartMarkdown(List<Benchmark.ColdStartResult> measured) {
        List<ColdStartFigures> results = ColdStartFigures.of(measured);
        StringBuilder md = new StringBuilder("## cohort-sync cold starts\n");
        runtimeClientTable(md, results);
        primingTable(md, results);
        md.append("\nEach launch's requests in order: event taken to response posted, ms (classes the JVM loaded): "
                + "on-demand | primed\n\n");
        for (ColdStartFigures c : results) {
            for (int i = 0; i < c.launches().size(); i++) {
                md.append("- ").append(c.function()).append(" run ").append(i + 1).append(": ")
                        .append(requests(c.launches().get(i))).append(" | ").append(requests(c.primedLaunches().get(i)))
                        .append("\n");
            }
        }
        return md.toString();
    }

    private static String requests(ColdStart.Launch l) {
        List<String> each = new ArrayList<>();
        for (int i = 0; i < l.requestMs().size(); i++) {
            each.add(fmt(l.requestMs().get(i), 0) + " (" + l.classesLoaded().get(i) + " classes)");
        }
        return String.join(", ", each);
    }

    private static ArrayNode doubles(List<Double> values) {
        ArrayNode a = JSON.createArrayNode();
        values.forEach(v -> a.add(round(v, 1)));
        return a;
    }

    static double round(double v, int decimals) {
        double f = Math.pow(10, decimals);
        return Math.round(v * f) / f;
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.json"), JSON.writeValueAsString(json()));
        Files.writeString(dir.resolve("results.md"), markdown());
    }

    /** For tests: the JSON as a tree. */
    JsonNode tree() {
        return json();
    }
}
