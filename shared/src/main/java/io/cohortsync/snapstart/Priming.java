package io.cohortsync.snapstart;

import io.cohortsync.aws.PrimingAws;
import io.cohortsync.observability.JsonLog;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * SnapStart priming (README "SnapStart"): a CRaC {@link Resource} whose {@link #beforeCheckpoint} runs a
 * function's own request paths once, on throw-away wiring (the real adapters and SDK clients on
 * {@link PrimingAws}, logs and metrics formatted and dropped), so the snapshot Lambda takes holds the classes,
 * the JIT's first compilations and the serializer caches a first request would otherwise pay for.
 * <p>Rules: nothing is sent (no network at all, so nothing is written and no credential is fetched); nothing
 * the function keeps is touched (its clients, cached secrets, clocks and random generators are not the
 * primer's); the steps run on a thread of their own that ends before the snapshot (so no thread-local state
 * of the thread that serves requests, e.g. a {@code ThreadLocalRandom} seed, is fixed in the snapshot), within
 * {@link #LIMIT}. A failure in priming is logged and swallowed: it must never fail init, and Lambda turns an
 * exception thrown here into a failed snapshot.
 */
public final class Priming implements Resource {
    /** Lambda gives init (hooks included) 130 s or the function timeout; priming takes well under 5 s. */
    public static final Duration LIMIT = Duration.ofSeconds(30);

    /** One primed path, e.g. an {@code add_members} call through the real handler. */
    public record Step(String name, Runnable body) {
        public Step {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(body, "body");
        }
    }

    /** What a function primes: its steps and the canned AWS they talk to (whose calls are reported). */
    public record Plan(List<Step> steps, PrimingAws aws) {
        public Plan {
            steps = List.copyOf(steps);
        }
    }

    /**
     * @param failed   the steps that threw, with the exception's class (never its message: it could quote data)
     * @param awsCalls the canned AWS calls the steps made, by operation
     */
    public record Report(List<String> ran, Map<String, String> failed, Map<String, Integer> awsCalls,
                         boolean timedOut, long millis) {
        public boolean ok() {
            return failed.isEmpty() && !timedOut;
        }
    }

    private final String function;
    private final Supplier<Plan> plan;
    private final JsonLog log;
    private final Duration limit;
    private volatile Report last;

    /**
     * @param plan built when priming runs (never at construction: a function started without SnapStart, e.g.
     *             {@code $LATEST}, pays nothing for priming)
     */
    public Priming(String function, Supplier<Plan> plan, PrintStream log, Duration limit) {
        this.function = Objects.requireNonNull(function, "function");
        this.plan = Objects.requireNonNull(plan, "plan");
        this.log = new JsonLog(function, Objects.requireNonNull(log, "log"), Clock.systemUTC());
        this.limit = Objects.requireNonNull(limit, "limit");
    }

    /**
     * A primer registered with CRaC's global context, which Lambda's runtime notifies before it takes the
     * snapshot. Never throws. The caller must keep the returned object: Lambda's context holds resources
     * weakly, so an unreferenced primer would be collected and never run.
     */
    public static Priming register(String function, Supplier<Plan> plan) {
        Priming priming = new Priming(function, plan, System.out, LIMIT);
        try {
            Core.getGlobalContext().register(priming);
        } catch (Throwable t) {
            priming.log.warn("priming not registered", failure(t));
        }
        return priming;
    }

    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) {
        run();
    }

    @Override
    public void afterRestore(Context<? extends Resource> context) {
        // Nothing to restore: priming kept nothing (no connection, credential, time or random seed).
    }

    /** The last run's report; null before the first. */
    public Report lastReport() {
        return last;
    }

    /** Runs the plan's steps (on a thread of its own, within the limit) and logs one line; never throws. */
    public Report run() {
        long started = System.nanoTime();
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        Map<String, String> failed = Collections.synchronizedMap(new LinkedHashMap<>());
        PrimingAws[] aws = new PrimingAws[1];
        Thread worker = new Thread(() -> {
            Plan p;
            try {
                p = plan.get();
            } catch (Throwable t) {
                failed.put("plan", t.getClass().getName());
                return;
            }
            aws[0] = p.aws();
            for (Step step : p.steps()) {
                try {
                    step.body().run();
                    ran.add(step.name());
                } catch (Throwable t) {
                    failed.put(step.name(), t.getClass().getName());
                    Map<String, Object> fields = failure(t);
                    fields.put("step", step.name());
                    log.warn("priming step failed", fields);
                }
            }
        }, "cohort-sync-priming");
        worker.setDaemon(true);
        boolean timedOut;
        try {
            worker.start();
            worker.join(limit.toMillis());
            timedOut = worker.isAlive();
        } catch (Throwable t) {
            // Interrupted, or no thread could be started: report it, never let it reach the runtime.
            failed.put("runner", t.getClass().getName());
            timedOut = worker.isAlive();
        }
        Map<String, Integer> calls = aws[0] == null ? Map.of() : aws[0].calls();
        Report report = new Report(List.copyOf(ran), Map.copyOf(failed), calls, timedOut,
                (System.nanoTime() - started) / 1_000_000);
        last = report;
        try {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("steps", report.ran());
            fields.put("failed", report.failed());
            fields.put("awsCalls", report.awsCalls());
            fields.put("timedOut", report.timedOut());
            fields.put("ms", report.millis());
            if (report.ok()) {
                log.info("priming done", fields);
            } else {
                log.warn("priming incomplete", fields);
            }
        } catch (Throwable t) {
            // Even logging must not fail the snapshot.
        }
        return report;
    }

    /** An exception as the logs name one: its class and our first frame, never its message. */
    static Map<String, Object> failure(Throwable t) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("exception", t.getClass().getName());
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().startsWith("io.cohortsync.")) {
                fields.put("at", frame.getClassName() + "." + frame.getMethodName() + ":" + frame.getLineNumber());
                break;
            }
        }
        return fields;
    }
}
