package io.cohortsync.webhook;

import io.cohortsync.domain.CohortRef;

import io.cohortsync.domain.CachedSecret;
import io.cohortsync.domain.UnauthorizedException;
import io.cohortsync.testkit.ApiGatewayEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.MessageDigestSpi;
import java.security.NoSuchAlgorithmException;
import java.security.NoSuchProviderException;
import java.security.Provider;
import java.security.Security;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The credential check must not short-circuit: whatever is wrong (the user, the password, both, or a
 * password of another length), it does the same work, so its timing says nothing about which part or
 * how much of it was right. Shown without timing: a security provider placed first for SHA-256 records
 * what the authenticator digests, and every attempt must digest the expected and the given user and
 * the expected and the given password (comparisons then run on equal-length digests, which
 * {@link MessageDigest#isEqual} compares in constant time). This test lives in the webhook's package to
 * reach the package-private authenticator; it is a test of production code, not a hook in it.
 */
class BasicAuthenticatorConstantTimeTest {
    private static final String USER = "mixpanel";
    private static final String PASSWORD = "correct-horse-battery";
    private static final Provider RECORDING = new RecordingProvider();

    private final AtomicInteger secretReads = new AtomicInteger();
    private BasicAuthenticator authenticator;

    @BeforeEach
    void setUp() {
        Security.insertProviderAt(RECORDING, 1);
        RecordingSha256.INPUTS.clear();
        // A fixed clock: the cached secret is always fresh, so a mismatch does not re-read it here.
        Clock clock = Clock.fixed(Instant.parse("2026-11-28T12:00:00Z"), ZoneOffset.UTC);
        CachedSecret<WebhookCredentials> secret = new CachedSecret<>(id -> {
            secretReads.incrementAndGet();
            return "{\"username\":\"" + USER + "\",\"password\":\"" + PASSWORD + "\"}";
        }, "webhook", WebhookCredentials::parse, Duration.ofMinutes(5), clock);
        authenticator = new BasicAuthenticator(secret);
        authenticator.authenticate(ApiGatewayEvents.basic(USER, PASSWORD), CohortRef.DEFAULT_CONNECTION); // warm the cache
        RecordingSha256.INPUTS.clear();
    }

    @AfterEach
    void tearDown() {
        Security.removeProvider(RECORDING.getName());
    }

    @ParameterizedTest(name = "user ''{0}'', password ''{1}''")
    @CsvSource({
            "someone-else, correct-horse-battery",   // wrong user, right password
            "mixpanel,     wrong-horse-battery",     // right user, wrong password of the same length
            "mixpanel,     c",                       // right user, a one-character password
            "mixpanel,     correct-horse-battery-staple", // the right password as a prefix of the given one
            "m,            x",                       // both wrong
    })
    void authenticate_digestsBothUserAndBothPasswords_whateverIsWrong(String user, String password) {
        // when wrong credentials are checked
        assertThatThrownBy(() -> authenticator.authenticate(ApiGatewayEvents.basic(user, password), CohortRef.DEFAULT_CONNECTION))
                .isInstanceOf(UnauthorizedException.class);

        // then the password was examined even when the user already mismatched, and nothing else was
        assertThat(RecordingSha256.inputs()).containsExactlyInAnyOrder(USER, user, PASSWORD, password);
        assertThat(RecordingSha256.OUTPUT_LENGTHS).containsOnly(32);
    }

    @Test
    void authenticate_doesTheSameWork_forRightAndWrongCredentials() {
        // when the right credentials, then wrong ones, are checked
        authenticator.authenticate(ApiGatewayEvents.basic(USER, PASSWORD), CohortRef.DEFAULT_CONNECTION);
        int forRight = RecordingSha256.INPUTS.size();
        RecordingSha256.INPUTS.clear();
        assertThatThrownBy(() -> authenticator.authenticate(ApiGatewayEvents.basic(USER + "x", "y"), CohortRef.DEFAULT_CONNECTION))
                .isInstanceOf(UnauthorizedException.class);

        // then both took four digests, and the secret was read once in all (the cache, no re-read per attempt)
        assertThat(RecordingSha256.INPUTS).hasSize(forRight);
        assertThat(forRight).isEqualTo(4);
        assertThat(secretReads).hasValue(1);
    }

    /** Registered first for SHA-256: delegates to the JDK's and records each input. */
    public static final class RecordingSha256 extends MessageDigestSpi {
        static final List<byte[]> INPUTS = Collections.synchronizedList(new ArrayList<>());
        static final List<Integer> OUTPUT_LENGTHS = Collections.synchronizedList(new ArrayList<>());
        private final ByteArrayOutputStream input = new ByteArrayOutputStream();
        private final MessageDigest real;

        public RecordingSha256() throws NoSuchAlgorithmException, NoSuchProviderException {
            this.real = MessageDigest.getInstance("SHA-256", "SUN");
        }

        static List<String> inputs() {
            synchronized (INPUTS) {
                return INPUTS.stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
            }
        }

        @Override
        protected void engineUpdate(byte b) {
            input.write(b);
            real.update(b);
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) {
            input.write(b, off, len);
            real.update(b, off, len);
        }

        @Override
        protected byte[] engineDigest() {
            INPUTS.add(input.toByteArray());
            input.reset();
            byte[] digest = real.digest();
            OUTPUT_LENGTHS.add(digest.length);
            return digest;
        }

        @Override
        protected void engineReset() {
            input.reset();
            real.reset();
        }
    }

    private static final class RecordingProvider extends Provider {
        RecordingProvider() {
            super("CohortSyncRecordingSha256", "1.0", "records SHA-256 inputs for a test");
            put("MessageDigest.SHA-256", RecordingSha256.class.getName());
        }
    }
}
