package io.cohortsync.bench;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the in-memory ports of {@code make bench-scale} would have cost on AWS: API calls by
 * {@code Service.Operation}, DynamoDB units by {@link ItemKind} and by partition key (for the
 * per-partition throughput limits), SQS billed requests. Every figure is computed with
 * {@link DynamoBilling}'s rules from the item sizes {@link ScaleItems} gives. Not thread-safe: the
 * bench drives one handler at a time, as one Lambda container would.
 */
final class Ledger {
    private final Map<String, Long> calls = new TreeMap<>();
    private final Map<ItemKind, double[]> unitsByKind = new TreeMap<>();
    /** pk → {write units, read units}. */
    private final Map<String, double[]> unitsByPartition = new HashMap<>();
    private long sqsBilled;
    private long deltaMessages;
    private long jobMessages;
    private long deltas;

    void call(String op, long n) {
        calls.merge(op, n, Long::sum);
    }

    void write(ItemKind kind, String pk, double units) {
        unitsByKind.computeIfAbsent(kind, k -> new double[2])[0] += units;
        unitsByPartition.computeIfAbsent(pk, k -> new double[2])[0] += units;
    }

    void read(ItemKind kind, String pk, double units) {
        unitsByKind.computeIfAbsent(kind, k -> new double[2])[1] += units;
        unitsByPartition.computeIfAbsent(pk, k -> new double[2])[1] += units;
    }

    void sqs(String op, long billedRequests) {
        call(op, 1);
        sqsBilled += billedRequests;
    }

    void deltaMessages(long messages, long deltaCount) {
        deltaMessages += messages;
        deltas += deltaCount;
    }

    void jobMessages(long messages) {
        jobMessages += messages;
    }

    Totals totals() {
        Map<ItemKind, Double> w = new TreeMap<>();
        Map<ItemKind, Double> r = new TreeMap<>();
        unitsByKind.forEach((k, v) -> {
            w.put(k, v[0]);
            r.put(k, v[1]);
        });
        Map<String, double[]> partitions = new HashMap<>();
        unitsByPartition.forEach((k, v) -> partitions.put(k, v.clone()));
        return new Totals(new TreeMap<>(calls), w, r, partitions, sqsBilled, deltaMessages, jobMessages, deltas);
    }

    /**
     * A reading of the ledger; subtract two to get what happened in between.
     *
     * @param unitsByPartition pk → {write units, read units}
     */
    record Totals(Map<String, Long> calls, Map<ItemKind, Double> writeUnitsByKind, Map<ItemKind, Double> readUnitsByKind,
                  Map<String, double[]> unitsByPartition, long sqsBilledRequests, long deltaMessages, long jobMessages,
                  long deltas) {
        static final Totals ZERO = new Totals(Map.of(), Map.of(), Map.of(), Map.of(), 0, 0, 0, 0);

        double writeUnits() {
            return writeUnitsByKind.values().stream().mapToDouble(Double::doubleValue).sum();
        }

        double readUnits() {
            return readUnitsByKind.values().stream().mapToDouble(Double::doubleValue).sum();
        }

        long awsCalls() {
            return calls.values().stream().mapToLong(Long::longValue).sum();
        }

        long calls(String op) {
            return calls.getOrDefault(op, 0L);
        }

        Totals minus(Totals o) {
            Map<String, Long> c = new TreeMap<>(calls);
            o.calls.forEach((k, v) -> c.merge(k, -v, Long::sum));
            c.values().removeIf(v -> v == 0);
            Map<ItemKind, Double> w = new TreeMap<>(writeUnitsByKind);
            o.writeUnitsByKind.forEach((k, v) -> w.merge(k, -v, Double::sum));
            w.values().removeIf(v -> Math.abs(v) < 1e-9);
            Map<ItemKind, Double> r = new TreeMap<>(readUnitsByKind);
            o.readUnitsByKind.forEach((k, v) -> r.merge(k, -v, Double::sum));
            r.values().removeIf(v -> Math.abs(v) < 1e-9);
            Map<String, double[]> p = new HashMap<>();
            unitsByPartition.forEach((k, v) -> p.put(k, v.clone()));
            o.unitsByPartition.forEach((k, v) -> {
                double[] mine = p.computeIfAbsent(k, x -> new double[2]);
                mine[0] -= v[0];
                mine[1] -= v[1];
            });
            p.values().removeIf(v -> Math.abs(v[0]) < 1e-9 && Math.abs(v[1]) < 1e-9);
            return new Totals(c, w, r, p, sqsBilledRequests - o.sqsBilledRequests, deltaMessages - o.deltaMessages,
                    jobMessages - o.jobMessages, deltas - o.deltas);
        }

        /**
         * The least time DynamoDB's per-partition limits allow for this much work, if nothing else were
         * slower: each partition key takes {@link DynamoBilling#PARTITION_WRITE_UNITS_PER_SECOND} and
         * {@link DynamoBilling#PARTITION_READ_UNITS_PER_SECOND}; partitions work in parallel, so the
         * busiest one decides. Computed, not measured.
         */
        PartitionBound partitionBound() {
            String worst = null;
            double seconds = 0;
            boolean byWrites = false;
            for (Map.Entry<String, double[]> e : unitsByPartition.entrySet()) {
                double w = e.getValue()[0] / DynamoBilling.PARTITION_WRITE_UNITS_PER_SECOND;
                double r = e.getValue()[1] / DynamoBilling.PARTITION_READ_UNITS_PER_SECOND;
                double s = Math.max(w, r);
                if (s > seconds) {
                    seconds = s;
                    worst = e.getKey();
                    byWrites = w >= r;
                }
            }
            return new PartitionBound(seconds, worst, byWrites);
        }
    }

    /** @param partition the busiest partition key; {@code byWrites}: its writes, not its reads, decide */
    record PartitionBound(double seconds, String partition, boolean byWrites) {
        /** What kind of partition it is: a membership shard, a session, the reconciler's progress, ... */
        String kind() {
            if (partition == null) {
                return "none";
            }
            return switch (ItemKind.of(partition, partition.startsWith("S#") ? "I#" : partition.startsWith("R#") ? "C#" : "")) {
                case MEMBERSHIP -> "a membership shard";
                case SESSION_IDS -> "the session's partition";
                case CHECKPOINT -> "the cohort's reconcile partition";
                case COHORT -> "the cohort item";
                default -> partition;
            } + (byWrites ? " (writes)" : " (reads)");
        }
    }
}
