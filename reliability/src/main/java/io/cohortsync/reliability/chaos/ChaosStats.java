package io.cohortsync.reliability.chaos;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counters and promise violations of one schedule, or of a whole run once merged. Thread-safe. */
public final class ChaosStats {
    /** One broken promise: which schedule (its seed replays it), what kind, and what exactly. */
    public record Violation(long scheduleSeed, String kind, String detail) {
        @Override
        public String toString() {
            return kind + ": " + detail;
        }
    }

    /** The three violations the run's table names on their own; every other kind is counted as "other". */
    public static final String LOST = "lost";
    public static final String STALE = "stale";
    public static final String DUPLICATE = "duplicate-without-same-id";

    private final Map<String, Long> counters = new TreeMap<>();
    private final Map<String, Long> faults = new TreeMap<>();
    private final List<Violation> violations = new ArrayList<>();
    /** What explains a failing schedule's violations (user histories), written next to its output. */
    private final List<String> diagnostics = new ArrayList<>();

    public synchronized void diagnostic(String text) {
        diagnostics.add(text);
    }

    public synchronized List<String> diagnostics() {
        return List.copyOf(diagnostics);
    }

    public synchronized void count(String name) {
        add(name, 1);
    }

    public synchronized void add(String name, long n) {
        counters.merge(name, n, Long::sum);
    }

    /** A fault that really happened (was consumed by a request or fired at a port), by kind. */
    public synchronized void fault(String kind) {
        faults(kind, 1);
    }

    public synchronized void faults(String kind, long n) {
        if (n > 0) {
            faults.merge(kind, n, Long::sum);
        }
    }

    public synchronized void violation(long seed, String kind, String detail) {
        violations.add(new Violation(seed, kind, detail));
    }

    public synchronized long counter(String name) {
        return counters.getOrDefault(name, 0L);
    }

    public synchronized Map<String, Long> counters() {
        return Collections.unmodifiableMap(new TreeMap<>(counters));
    }

    public synchronized Map<String, Long> faults() {
        return Collections.unmodifiableMap(new TreeMap<>(faults));
    }

    public synchronized List<Violation> violations() {
        return List.copyOf(violations);
    }

    public synchronized long violations(String kind) {
        return violations.stream().filter(v -> v.kind().equals(kind)).count();
    }

    public synchronized long otherViolations() {
        return violations.stream().filter(v -> !List.of(LOST, STALE, DUPLICATE).contains(v.kind())).count();
    }

    public synchronized void merge(ChaosStats other) {
        other.counters().forEach((k, v) -> counters.merge(k, v, Long::sum));
        other.faults().forEach((k, v) -> faults.merge(k, v, Long::sum));
        violations.addAll(other.violations());
    }
}
