package io.cohortsync.testkit;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One Lambda execution environment on this machine: a {@link RuntimeApiStandIn} and the real runtime client
 * ({@link LambdaRuntimeProcess}) on a function package talking to it. Invocations go one at a time, as
 * Lambda sends them to an environment; the JVM stays up between them (warm). Lambda's limits are kept:
 * an invocation that outlives its timeout ends the environment, as Lambda ends a timed-out one. Closing
 * stops the process and the stand-in, through their own handles.
 */
public final class LambdaExecutionEnvironment implements AutoCloseable {
    /** Lambda's limit on an on-demand function's init phase; the first invocation may take this much longer. */
    public static final Duration INIT_LIMIT = Duration.ofSeconds(10);
    /** Slack on a busy 2-core machine for JVM start and HTTP round trips, on top of Lambda's limits. */
    private static final Duration SLACK = Duration.ofSeconds(50);

    private final RuntimeApiStandIn api;
    private final LambdaRuntimeProcess process;
    private final LambdaRuntimeProcess.Spec spec;
    private final Object invoking = new Object();
    private boolean initialized;

    private LambdaExecutionEnvironment(RuntimeApiStandIn api, LambdaRuntimeProcess process, LambdaRuntimeProcess.Spec spec) {
        this.api = api;
        this.process = process;
        this.spec = spec;
    }

    /** Starts the runtime client on the package; its output is appended to {@code log}. */
    public static LambdaExecutionEnvironment start(LambdaRuntimeProcess.Spec spec, Path log) {
        RuntimeApiStandIn api = RuntimeApiStandIn.start(spec.functionName());
        try {
            return new LambdaExecutionEnvironment(api, LambdaRuntimeProcess.start(spec, api, log), spec);
        } catch (RuntimeException e) {
            api.close();
            throw e;
        }
    }

    public RuntimeApiStandIn api() {
        return api;
    }

    public LambdaRuntimeProcess process() {
        return process;
    }

    public LambdaRuntimeProcess.Spec spec() {
        return spec;
    }

    /** True while the runtime process runs (it exits after an init error or a fatal error). */
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Sends {@code event} and waits for the runtime's answer. The first invocation also waits for init.
     *
     * @throws IllegalStateException if the runtime exited or did not answer in time (the environment is
     *                               closed then, as Lambda discards it), with the end of its output
     */
    public RuntimeApiStandIn.Outcome invoke(RuntimeApiStandIn.Invocation invocation) {
        synchronized (invoking) {
            Duration budget = invocation.timeout().plus(SLACK).plus(initialized ? Duration.ZERO : INIT_LIMIT);
            CompletableFuture<RuntimeApiStandIn.Outcome> outcome = api.submit(invocation);
            long deadline = System.nanoTime() + budget.toNanos();
            while (true) {
                try {
                    RuntimeApiStandIn.Outcome o = outcome.get(100, TimeUnit.MILLISECONDS);
                    initialized = true;
                    return o;
                } catch (TimeoutException notYet) {
                    if (!process.isAlive()) {
                        throw new IllegalStateException(spec.functionName() + ": the runtime exited with "
                                + process.awaitExit(Duration.ZERO) + " before answering; its output:\n"
                                + process.outputTail(40));
                    }
                    if (System.nanoTime() > deadline) {
                        close();
                        throw new IllegalStateException(spec.functionName() + ": no answer within " + budget
                                + "; environment ended; its output:\n" + process.outputTail(40));
                    }
                } catch (ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** {@link #invoke} with a JSON event. */
    public RuntimeApiStandIn.Outcome invoke(String eventJson, Duration timeout) {
        return invoke(new RuntimeApiStandIn.Invocation(eventJson.getBytes(StandardCharsets.UTF_8), timeout, null, null));
    }

    @Override
    public void close() {
        try {
            process.close();
        } finally {
            api.close();
        }
    }
}
