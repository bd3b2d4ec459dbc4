package io.cohortsync.segment;

import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Segment transport of SnapStart priming: builds the very request {@link SegmentClient} would send
 * (URL, Basic auth, headers, body publisher) and answers 200 without sending it. No connection, no DNS
 * look-up. It does build the HTTP client SegmentClient sends with, and closes it unused: that loads the JDK's
 * HTTP client and initialises the JVM's default TLS context (trust store, whose SecureRandom the managed Java
 * runtime keeps unique per restored environment: README "SnapStart"), work the first send would otherwise do.
 */
public final class PrimingSegment implements SegmentTransport {
    private final URI batchUrl;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();

    public PrimingSegment(URI baseUrl) {
        this.batchUrl = SegmentClient.batchUrl(Objects.requireNonNull(baseUrl, "baseUrl"));
        SegmentClient.newHttpClient().close();
    }

    @Override
    public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
        HttpRequest request = SegmentClient.request(batchUrl, body, writeKey, timeout);
        if (request.bodyPublisher().map(HttpRequest.BodyPublisher::contentLength).orElse(-1L) != body.length) {
            throw new IllegalStateException("the Segment request does not carry the batch");
        }
        requests.incrementAndGet();
        bytes.addAndGet(body.length);
        return new SegmentResponse.Answered(200, Optional.empty());
    }

    /** Batches "sent" so far. */
    public int requests() {
        return requests.get();
    }

    public long bytes() {
        return bytes.get();
    }
}
