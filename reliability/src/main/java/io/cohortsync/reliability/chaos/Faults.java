package io.cohortsync.reliability.chaos;

import io.cohortsync.domain.DependencyUnavailableException;

import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Injects one planned fault into one invocation (a webhook request attempt, a sender or a reconciler
 * invocation) through the port wrappers in {@link FaultyPorts}. The plan names the n-th eligible port call of the
 * invocation and what happens there: the dependency is throttled ({@link DependencyUnavailableException},
 * as the real adapters raise it after the SDK's own retries), or the function dies just before or just
 * after the call took effect ({@link SimulatedCrash}). Plans are per thread, so concurrent invocations
 * each carry their own.
 */
public final class Faults {
    /** What happens at the planned call. */
    public enum Action { NONE, THROTTLE, CRASH_BEFORE, CRASH_AFTER }

    /**
     * @param atCall  1-based index among the invocation's eligible port calls (throttles count AWS calls only)
     * @param partial for {@code CRASH_AFTER} on a multi-change commit: only the first half was written
     * @param ports   when not empty, only calls of these ports count toward {@code atCall}: the failure points
     *                an invocation reaches late or only sometimes (a mark, a completion, a decision, an exit
     *                commit) are hit too; none if the invocation makes fewer such calls
     */
    public record Plan(Action action, int atCall, boolean partial, Set<String> ports) {
        public static final Plan NONE = new Plan(Action.NONE, 0, false);

        public Plan {
            Objects.requireNonNull(action, "action");
            ports = ports == null ? Set.of() : Set.copyOf(ports);
        }

        public Plan(Action action, int atCall, boolean partial) {
            this(action, atCall, partial, null);
        }

        @Override
        public String toString() {
            return action == Action.NONE ? "none" : action + "@" + atCall + (ports.isEmpty() ? "" : " of " + ports)
                    + (partial ? "(partial)" : "");
        }
    }

    /** What a finished invocation went through. */
    public static final class Invocation {
        final Plan plan;
        int awsCalls;
        int allCalls;
        /** Set once the planned fault happened: "throttle DynamoDB store.read", "crash after queue.enqueue". */
        String fired;
        String firedKind;

        Invocation(Plan plan) {
            this.plan = plan;
        }

        public boolean fired() {
            return fired != null;
        }

        public String description() {
            return fired;
        }

        /** A short kind for counting: {@code throttle:DynamoDB store.mark}, {@code crash-before-store.commit}, {@code crash-mid-queue.enqueue}. */
        public String kind() {
            return firedKind;
        }
    }

    private final ThreadLocal<Invocation> current = new ThreadLocal<>();

    /** Runs {@code body} as one invocation under {@code plan}; returns what happened (also on a crash). */
    public Invocation open(Plan plan) {
        Invocation inv = new Invocation(plan);
        current.set(inv);
        return inv;
    }

    public void close() {
        current.remove();
    }

    /** A port call of {@code dependency} ({@code null} for a non-AWS port such as Segment). */
    public <T> T call(String port, String dependency, Supplier<T> body) {
        return call(port, dependency, body, null);
    }

    /** A port call that returns nothing. */
    public void run(String port, String dependency, Runnable body) {
        run(port, dependency, body, null);
    }

    public void run(String port, String dependency, Runnable body, Runnable partialBody) {
        call(port, dependency, () -> {
            body.run();
            return null;
        }, partialBody);
    }

    /**
     * @param partialBody what "half done" means for this call, used by a partial {@code CRASH_AFTER}
     */
    public <T> T call(String port, String dependency, Supplier<T> body, Runnable partialBody) {
        Invocation inv = current.get();
        if (inv == null || inv.fired != null || inv.plan.action() == Action.NONE) {
            return body.get();
        }
        Plan plan = inv.plan;
        if (!plan.ports().isEmpty() && !plan.ports().contains(port)) {
            return body.get();
        }
        int index;
        if (plan.action() == Action.THROTTLE) {
            if (dependency == null) {
                return body.get();
            }
            index = ++inv.awsCalls;
        } else {
            index = ++inv.allCalls;
        }
        if (index != plan.atCall()) {
            return body.get();
        }
        switch (plan.action()) {
            case THROTTLE -> {
                inv.fired = "throttle " + dependency + " at " + port;
                inv.firedKind = "throttle:" + dependency + " " + port;
                throw new DependencyUnavailableException(dependency, port + " throttled (injected)", null);
            }
            case CRASH_BEFORE -> {
                inv.fired = "crash before " + port;
                inv.firedKind = "crash-before-" + port;
                throw new SimulatedCrash("before " + port);
            }
            case CRASH_AFTER -> {
                if (plan.partial() && partialBody != null) {
                    partialBody.run();
                    inv.fired = "crash half-way through " + port;
                    inv.firedKind = "crash-mid-" + port;
                    throw new SimulatedCrash("half-way through " + port);
                }
                T result = body.get();
                inv.fired = "crash after " + port;
                inv.firedKind = "crash-after-" + port;
                throw new SimulatedCrash("after " + port);
            }
            default -> throw new IllegalStateException();
        }
    }
}
