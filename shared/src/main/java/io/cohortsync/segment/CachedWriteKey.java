package io.cohortsync.segment;

import io.cohortsync.domain.CachedSecret;

import java.time.Duration;
import java.util.Objects;

/**
 * {@link WriteKeySource} over a {@link CachedSecret}: read once, kept for the cache TTL, re-read on
 * demand. The caller ({@link SegmentDelivery}) asks for a re-read at most once per delivery, which is
 * what rate-limits Secrets Manager reads when a key is simply wrong.
 */
public final class CachedWriteKey implements WriteKeySource {
    private final CachedSecret<SegmentWriteKey> secret;

    public CachedWriteKey(CachedSecret<SegmentWriteKey> secret) {
        this.secret = Objects.requireNonNull(secret, "secret");
    }

    @Override
    public String current() {
        return secret.get().value();
    }

    @Override
    public void refresh() {
        secret.refreshIfOlderThan(Duration.ZERO);
    }
}
