package io.cohortsync.bench;

import java.util.Arrays;
import java.util.Collection;

/** Percentiles by the nearest-rank method (no interpolation: every value reported was observed). */
final class Stats {
    private Stats() {
    }

    /** @param sorted ascending */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static double percentile(Collection<Double> values, double p) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return percentile(sorted, p);
    }

    static double median(Collection<Double> values) {
        return percentile(values, 50);
    }
}
