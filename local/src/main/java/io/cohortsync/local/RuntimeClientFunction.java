package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.LambdaExecutionEnvironment;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.RuntimeApiStandIn;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A function's sam-build package under the real Lambda runtime client, scaled the way Lambda scales it:
 * an invocation takes an idle execution environment (warm) or, while fewer than {@code maxEnvironments}
 * exist, starts a new one (a cold start: a fresh JVM and its init); one invocation per environment at a
 * time. An environment whose runtime exited or timed out is dropped, and the next invocation starts a new
 * one, as Lambda replaces it. Every environment's output goes to its own log file.
 */
final class RuntimeClientFunction implements LambdaFunction {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LambdaRuntimeProcess.Spec spec;
    private final int maxEnvironments;
    private final Path logDir;
    private final Deque<LambdaExecutionEnvironment> idle = new ArrayDeque<>();
    private final List<LambdaExecutionEnvironment> all = new ArrayList<>();
    private final AtomicLong invocations = new AtomicLong();
    private int started;
    private boolean closed;

    RuntimeClientFunction(LambdaRuntimeProcess.Spec spec, int maxEnvironments, Path logDir) {
        this.spec = spec;
        this.maxEnvironments = maxEnvironments;
        this.logDir = logDir;
    }

    /**
     * Starts one environment and waits for its init to finish (its first GET /next), so a package that cannot
     * start (an init error) shows when the stack starts, not at the first request.
     *
     * @throws IllegalStateException with the end of its output if the runtime reported an init error or exited
     */
    void warmUp(Duration wait) {
        LambdaExecutionEnvironment env = newEnvironment();
        long deadline = System.nanoTime() + wait.toNanos();
        while (env.api().firstNextNanos() == 0) {
            RuntimeApiStandIn.ReportedError initError = env.api().awaitInitError(Duration.ofMillis(100));
            if (initError != null || !env.isAlive() || System.nanoTime() > deadline) {
                discard(env);
                throw new IllegalStateException(spec.functionName() + " did not start under the runtime client"
                        + (initError != null ? " (init error " + initError.errorType() + ": " + initError.bodyText() + ")" : "")
                        + "; its output (" + env.process().log() + "):\n" + env.process().outputTail(30));
            }
        }
        release(env);
    }

    @Override
    public byte[] invoke(byte[] event, Duration timeout) {
        LambdaExecutionEnvironment env = acquire();
        boolean keep = false;
        try {
            RuntimeApiStandIn.Outcome outcome = env.invoke(new RuntimeApiStandIn.Invocation(event, timeout, null, null));
            invocations.incrementAndGet();
            keep = env.isAlive();
            if (outcome.error()) {
                throw new FunctionError(describe(outcome));
            }
            return outcome.body();
        } catch (IllegalStateException e) { // the runtime exited or timed out: Lambda discards the environment
            throw new FunctionError(spec.functionName() + ": " + e.getMessage().lines().findFirst().orElse(""));
        } finally {
            if (keep) {
                release(env);
            } else {
                discard(env);
            }
        }
    }

    /** Invocations answered (a response or a function error) so far. */
    long invocations() {
        return invocations.get();
    }

    /** Environments started so far (cold starts). */
    synchronized int environmentsStarted() {
        return started;
    }

    private synchronized LambdaExecutionEnvironment acquire() {
        while (true) {
            if (closed) {
                throw new FunctionError(spec.functionName() + ": stopped");
            }
            LambdaExecutionEnvironment env = idle.pollFirst();
            if (env != null) {
                return env;
            }
            if (all.size() < maxEnvironments) {
                return newEnvironment();
            }
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FunctionError(spec.functionName() + ": interrupted");
            }
        }
    }

    private synchronized LambdaExecutionEnvironment newEnvironment() {
        started++;
        LambdaExecutionEnvironment env = LambdaExecutionEnvironment.start(spec,
                logDir.resolve(spec.functionName() + "-" + started + ".log"));
        all.add(env);
        return env;
    }

    private synchronized void release(LambdaExecutionEnvironment env) {
        if (closed) {
            return; // close() stopped it
        }
        idle.addFirst(env); // the most recently used first, as Lambda reuses warm environments
        notifyAll();
    }

    private synchronized void discard(LambdaExecutionEnvironment env) {
        all.remove(env);
        idle.remove(env);
        env.close();
        notifyAll();
    }

    /**
     * The error's types as the runtime reported them, not its message: an unexpected exception's message
     * may quote data (the environment's own log has the whole report).
     */
    private String describe(RuntimeApiStandIn.Outcome outcome) {
        try {
            JsonNode e = JSON.readTree(outcome.body());
            return spec.functionName() + ": " + outcome.errorType() + " (" + e.path("errorType").asText() + ")";
        } catch (IOException notJson) {
            return spec.functionName() + ": " + outcome.errorType();
        }
    }

    @Override
    public void close() {
        List<LambdaExecutionEnvironment> envs;
        synchronized (this) {
            closed = true;
            envs = List.copyOf(all);
            all.clear();
            idle.clear();
            notifyAll();
        }
        envs.forEach(LambdaExecutionEnvironment::close);
    }
}
