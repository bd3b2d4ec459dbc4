package io.cohortsync.sync;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MassExitPolicyTest {
    @Test
    void holds_onlyOverHalfOfALargeCohort_byDefault() {
        MassExitPolicy p = MassExitPolicy.DEFAULT;
        assertThat(p.holds(1000, 501)).isTrue();
        assertThat(p.holds(1000, 500)).isFalse();
        assertThat(p.holds(999, 999)).isFalse(); // small cohorts may empty out
    }
}
