package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

class CachedSecretTest {
    private final AtomicInteger reads = new AtomicInteger();
    private final MutableClock clock = new MutableClock();
    private final SecretSource source = id -> "v" + reads.incrementAndGet();

    @Test
    void get_readsLazilyAndOnce_whenWithinTtl() {
        CachedSecret<String> secret = new CachedSecret<>(source, "id", Function.identity(), Duration.ofMinutes(5), clock);
        assertThat(reads).hasValue(0); // nothing read at construction (SnapStart)
        assertThat(secret.get()).isEqualTo("v1");
        clock.advance(Duration.ofMinutes(4));
        assertThat(secret.get()).isEqualTo("v1");
        assertThat(reads).hasValue(1);
    }

    @Test
    void get_rereads_whenTtlPassed() {
        CachedSecret<String> secret = new CachedSecret<>(source, "id", Function.identity(), Duration.ofMinutes(5), clock);
        secret.get();
        clock.advance(Duration.ofMinutes(6));
        assertThat(secret.get()).isEqualTo("v2");
    }

    @Test
    void refreshIfOlderThan_isRateLimited_whenCalledRepeatedly() {
        CachedSecret<String> secret = new CachedSecret<>(source, "id", Function.identity(), Duration.ofMinutes(5), clock);
        secret.get();
        assertThat(secret.refreshIfOlderThan(Duration.ofSeconds(30))).isFalse();
        clock.advance(Duration.ofSeconds(31));
        assertThat(secret.refreshIfOlderThan(Duration.ofSeconds(30))).isTrue();
        assertThat(secret.get()).isEqualTo("v2");
    }

    static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-11-28T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
