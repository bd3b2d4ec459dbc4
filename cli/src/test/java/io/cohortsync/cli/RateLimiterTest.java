package io.cohortsync.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {

    @Test
    void acquire_spacesBatchesToTheRate_whenLimited() {
        // given a clock that only moves when the limiter sleeps
        AtomicLong now = new AtomicLong(1_000);
        List<Long> sleeps = new ArrayList<>();
        RateLimiter limiter = new RateLimiter(100, now::get, nanos -> {
            sleeps.add(nanos);
            now.addAndGet(nanos);
        });

        // when 5 batches of 100 go
        for (int i = 0; i < 5; i++) {
            limiter.acquire(limiter.batch(1_000));
        }

        // then the first goes at once and each next one a second later: 500 items in 4 s, i.e. <= 100/s on average
        assertThat(limiter.batch(1_000)).isEqualTo(100);
        assertThat(sleeps).containsExactly(1_000_000_000L, 1_000_000_000L, 1_000_000_000L, 1_000_000_000L);
    }

    @Test
    void acquire_doesNotSleep_whenWorkIsSlowerThanTheRate() {
        AtomicLong now = new AtomicLong();
        List<Long> sleeps = new ArrayList<>();
        RateLimiter limiter = new RateLimiter(10, now::get, sleeps::add);

        limiter.acquire(10);
        now.addAndGet(5_000_000_000L); // the work itself took 5 s
        limiter.acquire(10);

        assertThat(sleeps).isEmpty();
    }

    @Test
    void unlimited_neverWaits_andKeepsThePreferredBatch() {
        RateLimiter limiter = RateLimiter.unlimited();

        limiter.acquire(1_000_000);

        assertThat(limiter.batch(1_000)).isEqualTo(1_000);
    }
}
