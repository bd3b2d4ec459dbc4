package io.cohortsync.local;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What `make local` makes of LAMBDA_RUNTIME. */
class LocalMainTest {
    @Test
    void lambdaRuntime_selectsTheRuntimeClientOnlyForRic_andRefusesAnythingElse() {
        assertThat(LocalMain.runtimeClient(null)).isFalse();
        assertThat(LocalMain.runtimeClient("")).isFalse();
        assertThat(LocalMain.runtimeClient("in-process")).isFalse();
        assertThat(LocalMain.runtimeClient("ric")).isTrue();
        assertThatThrownBy(() -> LocalMain.runtimeClient("RIC")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("in-process (the default) or ric");
    }
}
