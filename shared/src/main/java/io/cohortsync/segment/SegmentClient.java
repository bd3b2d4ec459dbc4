package io.cohortsync.segment;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * {@link SegmentTransport} over {@code java.net.http}: {@code POST <base>/v1/batch} with Basic auth
 * (write key as user name, empty password). One {@link HttpClient} per container, built without
 * opening a connection (SnapStart-safe). HTTP/1.1 because requests go one at a time: HTTP/2 would buy
 * nothing here, and plain-http stand-ins would see h2c upgrade attempts. The host is resolved per
 * connection by the JVM resolver (default positive DNS TTL 30 s), never pinned: Segment's addresses
 * change without notice.
 */
public final class SegmentClient implements SegmentTransport, AutoCloseable {
    /** Connecting is quick or it is not happening; the request timeout bounds the whole exchange anyway. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    /** Names us in Segment's request logs (identifies carry no {@code context.library}: bytes matter). */
    public static final String USER_AGENT = "cohort-sync/0.1.0";

    private final URI batchUrl;
    private final Clock clock;
    private final HttpClient http;

    public SegmentClient(URI baseUrl, Clock clock) {
        this.batchUrl = batchUrl(Objects.requireNonNull(baseUrl, "baseUrl"));
        this.clock = Objects.requireNonNull(clock, "clock");
        this.http = newHttpClient();
    }

    /** The client every SegmentClient sends with (also built, and closed unused, by {@link PrimingSegment}). */
    static HttpClient newHttpClient() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    public URI batchUrl() {
        return batchUrl;
    }

    /** The request {@link #postBatch} sends (also built, never sent, by SnapStart priming: {@link PrimingSegment}). */
    static HttpRequest request(URI batchUrl, byte[] body, String writeKey, Duration timeout) {
        return HttpRequest.newBuilder(batchUrl)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Authorization", basicAuthorization(writeKey))
                .header("User-Agent", USER_AGENT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    /** {@code <base>/v1/batch}, whether the base ends with a slash or not. */
    static URI batchUrl(URI baseUrl) {
        String base = baseUrl.toString();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/v1/batch");
    }

    @Override
    public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
        HttpRequest request = request(batchUrl, body, writeKey, timeout);
        try {
            // The body is not relied on (Segment's docs say so); discarding it keeps the connection reusable.
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            return new SegmentResponse.Answered(response.statusCode(),
                    response.headers().firstValue("Retry-After").flatMap(this::retryAfter));
        } catch (HttpConnectTimeoutException e) {
            return new SegmentResponse.Unreachable(e.getClass().getSimpleName());
        } catch (HttpTimeoutException e) {
            return new SegmentResponse.TimedOut();
        } catch (IOException e) {
            return new SegmentResponse.Unreachable(e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new SegmentResponse.Unreachable("InterruptedException");
        }
    }

    /** Closes the HTTP client (its connections and selector thread); the functions' clients live as long as the container. */
    @Override
    public void close() {
        http.close();
    }

    /** {@code Retry-After} is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
    Optional<Duration> retryAfter(String value) {
        return parseRetryAfter(value, clock);
    }

    static Optional<Duration> parseRetryAfter(String value, Clock clock) {
        String v = value.trim();
        if (v.isEmpty()) {
            return Optional.empty();
        }
        if (v.chars().allMatch(Character::isDigit)) {
            try {
                return Optional.of(Duration.ofSeconds(Long.parseLong(v)));
            } catch (NumberFormatException tooLong) {
                return Optional.of(Duration.ofDays(1)); // absurdly far: certainly past any deadline
            }
        }
        try {
            Duration until = Duration.between(clock.instant(),
                    ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
            return Optional.of(until.isNegative() ? Duration.ZERO : until);
        } catch (DateTimeParseException e) {
            return Optional.empty(); // unreadable: fall back to our own backoff
        }
    }

    /** HTTP Basic with the write key as user name and an empty password: base64("writeKey:"). */
    static String basicAuthorization(String writeKey) {
        return "Basic " + Base64.getEncoder()
                .encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));
    }
}
