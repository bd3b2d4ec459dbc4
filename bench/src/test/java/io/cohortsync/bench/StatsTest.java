package io.cohortsync.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatsTest {

    @Test
    void percentile_isNearestRank_soEveryValueWasObserved() {
        List<Double> values = List.of(5.0, 1.0, 4.0, 2.0, 3.0);
        assertThat(Stats.percentile(values, 50)).isEqualTo(3.0);
        assertThat(Stats.percentile(values, 99)).isEqualTo(5.0);
        assertThat(Stats.percentile(values, 1)).isEqualTo(1.0);
        assertThat(Stats.percentile(List.of(), 50)).isZero();
    }
}
