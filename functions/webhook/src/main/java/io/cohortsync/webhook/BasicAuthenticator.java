package io.cohortsync.webhook;

import io.cohortsync.domain.CachedSecret;
import io.cohortsync.domain.UnauthorizedException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;

/**
 * Checks HTTP Basic credentials against the webhook secret in constant time. A mismatch re-reads the
 * secret once (at most every {@link #ROTATION_RECHECK}) before refusing, so a rotated secret is picked
 * up without waiting for the cache to expire.
 */
final class BasicAuthenticator {
    static final Duration ROTATION_RECHECK = Duration.ofSeconds(30);

    private final CachedSecret<WebhookCredentials> credentials;

    BasicAuthenticator(CachedSecret<WebhookCredentials> credentials) {
        this.credentials = credentials;
    }

    /**
     * @throws UnauthorizedException      for missing or wrong credentials
     * @throws UnknownConnectionException when the secret has no credentials for the connection
     */
    void authenticate(String authorizationHeader, String connection) {
        String[] given = decode(authorizationHeader);
        var expected = credentials.get().forConnection(connection);
        if (expected.isPresent() && matches(expected.get(), given)) {
            return;
        }
        // A mismatch or an unknown connection may mean the secret changed: re-read (rate-limited), check again.
        if (credentials.refreshIfOlderThan(ROTATION_RECHECK)) {
            expected = credentials.get().forConnection(connection);
            if (expected.isPresent() && matches(expected.get(), given)) {
                return;
            }
        }
        if (expected.isEmpty()) {
            throw new UnknownConnectionException(connection);
        }
        throw new UnauthorizedException("invalid credentials");
    }

    private static String[] decode(String header) {
        if (header == null || header.length() < 6 || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            throw new UnauthorizedException("missing Basic credentials");
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new UnauthorizedException("malformed Basic credentials");
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
            throw new UnauthorizedException("malformed Basic credentials");
        }
        return new String[]{decoded.substring(0, colon), decoded.substring(colon + 1)};
    }

    private static boolean matches(WebhookCredentials.Pair expected, String[] given) {
        // Digest first so neither content nor length leaks through timing; '&' evaluates both sides.
        return MessageDigest.isEqual(sha256(expected.username()), sha256(given[0]))
                & MessageDigest.isEqual(sha256(expected.password()), sha256(given[1]));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
