package io.cohortsync.snapstart;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.segment.SegmentClient;
import io.cohortsync.segment.SegmentResponse;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Priming's one real HTTP exchange per HTTP stack the functions send with (README "SnapStart"): a responder on
 * the loopback interface, started and stopped by the step itself, that answers every request {@code 200 {}} with
 * {@code Connection: close}. Everything else in priming is answered from memory, so without this the first
 * request after a restore would still load and run the sockets, {@code HttpURLConnection} (the SDK's
 * URLConnection client, which also fetches the container credentials) and, for the sender, the JDK HTTP client's
 * exchange: about a hundred classes for the SDK, four hundred for the JDK client.
 * <p>Nothing leaves the host and nothing stays behind: the clients used here are throw-away instances built as
 * the functions build theirs, closed before the step returns; the responder closes every connection after one
 * answer (so no keep-alive cache holds a socket) and its own socket when the step ends; no credential, write key
 * or time is used (the write key is a placeholder, the clock a constant).
 */
public final class LoopbackHttp implements AutoCloseable {
    private static final byte[] ANSWER = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            + "Connection: close\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_HEAD_BYTES = 16 * 1024;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(5);
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);

    private final ServerSocket server;
    private final Thread acceptor;
    private final AtomicInteger answered = new AtomicInteger();

    private LoopbackHttp() throws IOException {
        server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::serve, "cohort-sync-priming-loopback");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A responder on an ephemeral loopback port. */
    public static LoopbackHttp start() {
        try {
            return new LoopbackHttp();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:<port>} (or the host's other loopback address). */
    public URI uri() {
        return URI.create("http://" + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
    }

    /** Requests answered so far. */
    public int answered() {
        return answered.get();
    }

    /**
     * The step: one POST through a fresh SDK HTTP client built as {@link AwsClients} builds the functions' (the
     * URLConnection client), and, with {@code segment}, one batch through a fresh {@link SegmentClient}.
     * Throws if an exchange is not answered 200, so a primer that stopped reaching the network stack says so.
     */
    public static Priming.Step step(boolean segment) {
        return new Priming.Step(segment ? "network stack (loopback): SDK, Segment" : "network stack (loopback): SDK",
                () -> {
                    try (LoopbackHttp loopback = start()) {
                        loopback.sdkExchange();
                        if (segment) {
                            loopback.segmentExchange();
                        }
                        int expected = segment ? 2 : 1;
                        if (loopback.answered() != expected) {
                            throw new IllegalStateException(loopback.answered() + " loopback answers, not " + expected);
                        }
                    }
                });
    }

    void sdkExchange() {
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        SdkHttpFullRequest request = SdkHttpFullRequest.builder().method(SdkHttpMethod.POST).uri(uri())
                .encodedPath("/").putHeader("Content-Type", "application/x-amz-json-1.0")
                .putHeader("Content-Length", Integer.toString(body.length)).build();
        try (SdkHttpClient http = AwsClients.newHttpClient()) {
            HttpExecuteResponse response = http.prepareRequest(HttpExecuteRequest.builder().request(request)
                    .contentStreamProvider(() -> new ByteArrayInputStream(body)).build()).call();
            if (response.responseBody().isPresent()) {
                try (InputStream in = response.responseBody().get()) {
                    in.readAllBytes();
                }
            }
            if (response.httpResponse().statusCode() != 200) {
                throw new IllegalStateException("SDK exchange answered " + response.httpResponse().statusCode());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void segmentExchange() {
        byte[] body = "{\"batch\":[]}".getBytes(StandardCharsets.UTF_8);
        try (SegmentClient client = new SegmentClient(uri(), CLOCK)) {
            SegmentResponse response = client.postBatch(body, "priming-not-a-secret", READ_TIMEOUT);
            if (!(response instanceof SegmentResponse.Answered a) || a.status() != 200) {
                throw new IllegalStateException("Segment exchange answered " + response);
            }
        }
    }

    private void serve() {
        while (!server.isClosed()) {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
                readRequest(socket.getInputStream());
                // Counted before the answer is written, so a client that has its answer sees the count.
                answered.incrementAndGet();
                OutputStream out = socket.getOutputStream();
                out.write(ANSWER);
                out.flush();
            } catch (SocketException closed) {
                return; // close() closed the server socket, or the client went away
            } catch (IOException | RuntimeException e) {
                // A malformed exchange: the client sees the connection close, and the step fails on its answer.
            }
        }
    }

    /** Reads the head and a {@code Content-Length} body (the only framing our clients send here). */
    private static void readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0 || head.length() > MAX_HEAD_BYTES) {
                throw new IOException("incomplete request head");
            }
            head.append((char) b);
        }
        long length = 0;
        for (String line : head.toString().split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
                length = Long.parseLong(line.substring(colon + 1).trim());
            }
        }
        in.skipNBytes(length);
    }

    /** Stops the responder and waits for its thread (so none is left in the snapshot). */
    @Override
    public void close() {
        try {
            server.close();
            acceptor.join(READ_TIMEOUT.toMillis());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
