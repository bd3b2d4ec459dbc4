package io.cohortsync.domain;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Function;

/**
 * A secret read once per container and kept for {@code ttl}, parsed into {@code T}. Nothing is read
 * or timed at construction (SnapStart): the first {@link #get()} reads it. {@link #refreshIfOlderThan}
 * lets a caller that suspects rotation (a credential mismatch, a 401 from Segment) re-read early,
 * rate-limited so wrong credentials cannot hammer Secrets Manager.
 */
public final class CachedSecret<T> {
    private final SecretSource source;
    private final String secretId;
    private final Function<String, T> parser;
    private final Duration ttl;
    private final Clock clock;
    private T value;
    private Instant readAt;

    public CachedSecret(SecretSource source, String secretId, Function<String, T> parser, Duration ttl, Clock clock) {
        this.source = Objects.requireNonNull(source, "source");
        this.secretId = Objects.requireNonNull(secretId, "secretId");
        this.parser = Objects.requireNonNull(parser, "parser");
        this.ttl = Objects.requireNonNull(ttl, "ttl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public synchronized T get() {
        if (value == null || clock.instant().isAfter(readAt.plus(ttl))) {
            reload();
        }
        return value;
    }

    /** Re-reads the secret if the cached copy is older than {@code minAge}; returns whether it did. */
    public synchronized boolean refreshIfOlderThan(Duration minAge) {
        if (value != null && clock.instant().isBefore(readAt.plus(minAge))) {
            return false;
        }
        reload();
        return true;
    }

    private void reload() {
        T parsed = parser.apply(source.read(secretId));
        value = Objects.requireNonNull(parsed, "parsed secret");
        readAt = clock.instant();
    }
}
