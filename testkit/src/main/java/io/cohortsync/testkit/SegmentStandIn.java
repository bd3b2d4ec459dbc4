package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

/**
 * A real HTTP server standing in for Segment's {@code POST /v1/batch}, on a free loopback port, started
 * and stopped through its own handle. It validates the way Segment's docs say Segment does:
 * <ul>
 *   <li>Basic auth must be base64({@code <write key>:}), else 401;</li>
 *   <li>the body must be at most {@value #MAX_REQUEST_BYTES} bytes, JSON, with a {@code batch} array,
 *       and every message at most {@value #MAX_MESSAGE_BYTES} bytes, else 400 (nothing accepted);</li>
 *   <li>then 200, but messages after the {@value #MAX_MESSAGES}th are dropped, and so is a message
 *       without {@code type}, an identify or track without {@code userId}/{@code anonymousId}, or a track
 *       without {@code event} (counted, so tests can assert it never happens);</li>
 *   <li>a {@code messageId} seen before is a duplicate: answered 200, not accepted again.</li>
 * </ul>
 * Limits are read strictly ("KB" = 1,000 bytes), so a client that passes here passes at Segment.
 * Programmable failures and delays let tests play 429, 5xx and slow answers. Everything is recorded.
 */
public final class SegmentStandIn implements AutoCloseable {
    public static final int MAX_REQUEST_BYTES = 500_000;
    public static final int MAX_MESSAGE_BYTES = 32_000;
    public static final int MAX_MESSAGES = 2_500;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One request as received, and what the stand-in answered. */
    public record RecordedRequest(Instant receivedAt, String method, String path, Map<String, String> headers,
                                  byte[] body, int status, int accepted, int duplicates, int dropped) {
        /** A header by case-insensitive name, or null. */
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(Map.Entry::getValue).findFirst().orElse(null);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The {@code batch} array's messages (empty when the body is not a batch). */
        public List<JsonNode> messages() {
            try {
                JsonNode batch = MAPPER.readTree(body).path("batch");
                List<JsonNode> list = new ArrayList<>();
                batch.forEach(list::add);
                return list;
            } catch (IOException e) {
                return List.of();
            }
        }

        @Override
        public String toString() {
            return "RecordedRequest[" + method + " " + path + " -> " + status + ", bytes=" + body.length
                    + ", accepted=" + accepted + ", duplicates=" + duplicates + ", dropped=" + dropped + "]";
        }
    }

    private record Failure(int status, String retryAfter) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final Object lock = new Object();
    private final List<RecordedRequest> requests = new ArrayList<>();
    private final List<JsonNode> accepted = new ArrayList<>();
    private final Set<String> seenMessageIds = new HashSet<>();
    private final Deque<Failure> failures = new ArrayDeque<>();
    private final Deque<Duration> delays = new ArrayDeque<>();
    private final Deque<Runnable> onRequest = new ArrayDeque<>();
    private String writeKey;
    private Predicate<JsonNode> rejectWhen = m -> false;
    private int duplicates;
    private int droppedOverLimit;
    private int droppedInvalid;

    private SegmentStandIn(String writeKey) {
        this.writeKey = Objects.requireNonNull(writeKey, "writeKey");
        try {
            this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("could not bind the Segment stand-in", e);
        }
        // A thread per request, so a delayed answer never holds up the next request.
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a stand-in that accepts {@code writeKey}. */
    public static SegmentStandIn start(String writeKey) {
        return new SegmentStandIn(writeKey);
    }

    /** What {@code SEGMENT_ENDPOINT} should be set to. */
    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** The next {@code n} requests get {@code status}, without being processed. */
    public void failNext(int n, int status) {
        program(n, new Failure(status, null));
    }

    /** The next {@code n} requests get {@code status} (e.g. 429) with {@code Retry-After: <seconds>}. */
    public void failNext(int n, int status, long retryAfterSeconds) {
        program(n, new Failure(status, Long.toString(retryAfterSeconds)));
    }

    /** The next {@code n} requests get {@code status} with this exact {@code Retry-After} value (e.g. an HTTP-date). */
    public void failNext(int n, int status, String retryAfterHeader) {
        program(n, new Failure(status, retryAfterHeader));
    }

    /**
     * The next {@code n} requests are processed as usual but answered only after {@code delay}: a client
     * with a shorter timeout gives up although Segment took the batch, as can happen for real.
     */
    public void delayNext(int n, Duration delay) {
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                delays.addLast(delay);
            }
        }
    }

    /**
     * Runs {@code action} when the next request arrives, before it is answered: a test's way to change
     * the world between a sender's attempt and its retry (e.g. commit a newer change).
     */
    public void onNextRequest(Runnable action) {
        synchronized (lock) {
            onRequest.addLast(Objects.requireNonNull(action, "action"));
        }
    }

    /** Forgets programmed failures and delays not used yet: Segment is healthy again. */
    public void recover() {
        synchronized (lock) {
            failures.clear();
            delays.clear();
            onRequest.clear();
        }
    }

    /** Any batch holding a message that matches is answered 400 (nothing accepted), until replaced. */
    public void rejectBatchesContaining(Predicate<JsonNode> message) {
        synchronized (lock) {
            rejectWhen = Objects.requireNonNull(message, "message");
        }
    }

    /** From now on only {@code newKey} is accepted. */
    public void rotateWriteKey(String newKey) {
        synchronized (lock) {
            writeKey = Objects.requireNonNull(newKey, "newKey");
        }
    }

    public List<RecordedRequest> requests() {
        synchronized (lock) {
            return List.copyOf(requests);
        }
    }

    /** Identify messages accepted (first sighting of their messageId), in arrival order. */
    public List<JsonNode> acceptedIdentifies() {
        synchronized (lock) {
            return accepted.stream().filter(m -> "identify".equals(m.path("type").asText())).toList();
        }
    }

    /** Track events accepted (first sighting of their messageId), in arrival order. */
    public List<JsonNode> acceptedTracks() {
        synchronized (lock) {
            return accepted.stream().filter(m -> "track".equals(m.path("type").asText())).toList();
        }
    }

    /** Every message accepted (first sighting of its messageId), whatever its type, in arrival order. */
    public List<JsonNode> accepted() {
        synchronized (lock) {
            return List.copyOf(accepted);
        }
    }

    /**
     * userId → trait key → the last accepted value, in arrival order: what the profile ends up with. A profile
     * known only by an anonymous id is keyed {@code anonymousId:<id>}.
     */
    public Map<String, Map<String, JsonNode>> finalTraits() {
        Map<String, Map<String, JsonNode>> traits = new TreeMap<>();
        for (JsonNode m : acceptedIdentifies()) {
            String key = m.hasNonNull("userId") ? m.path("userId").asText()
                    : "anonymousId:" + m.path("anonymousId").asText();
            Map<String, JsonNode> user = traits.computeIfAbsent(key, k -> new LinkedHashMap<>());
            m.path("traits").properties().forEach(e -> user.put(e.getKey(), e.getValue()));
        }
        return traits;
    }

    /** Messages answered 200 but not accepted because their messageId was seen before. */
    public int duplicates() {
        synchronized (lock) {
            return duplicates;
        }
    }

    /** Messages dropped because they came after the 2,500th of their request: must stay 0. */
    public int droppedOverLimit() {
        synchronized (lock) {
            return droppedOverLimit;
        }
    }

    /** Messages dropped for lacking {@code type}, or an identify lacking a user id: must stay 0. */
    public int droppedInvalid() {
        synchronized (lock) {
            return droppedInvalid;
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow(); // interrupts answers still being delayed
    }

    private void program(int n, Failure failure) {
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                failures.addLast(failure);
            }
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Instant receivedAt = Instant.now();
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k, String.join(",", v)));
            Runnable action;
            synchronized (lock) {
                action = onRequest.pollFirst();
            }
            if (action != null) {
                action.run();
            }
            Failure failure;
            Duration delay;
            Answer answer;
            synchronized (lock) {
                failure = failures.pollFirst();
                delay = delays.pollFirst();
                answer = failure != null ? new Answer(failure.status(), 0, 0, 0)
                        : process(exchange.getRequestMethod(), exchange.getRequestURI().getPath(), headers, body);
                requests.add(new RecordedRequest(receivedAt, exchange.getRequestMethod(),
                        exchange.getRequestURI().getPath(), Map.copyOf(headers), body, answer.status(),
                        answer.accepted(), answer.duplicates(), answer.dropped()));
            }
            if (delay != null) {
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException e) {
                    return; // closing: the client sees the connection drop, like a timeout
                }
            }
            Headers out = exchange.getResponseHeaders();
            out.set("Content-Type", "application/json");
            if (failure != null && failure.retryAfter() != null) {
                out.set("Retry-After", failure.retryAfter());
            }
            byte[] response = (answer.status() == 200 ? "{\"success\":true}" : "{\"success\":false}")
                    .getBytes(StandardCharsets.UTF_8);
            try {
                exchange.sendResponseHeaders(answer.status(), response.length);
                try (OutputStream os = exchange.getResponseBody()) {
                    os.write(response);
                }
            } catch (IOException clientGone) {
                // The client timed out and closed the connection; what it missed is already recorded.
            }
        }
    }

    private record Answer(int status, int accepted, int duplicates, int dropped) {
        static Answer of(int status) {
            return new Answer(status, 0, 0, 0);
        }
    }

    /** Called under the lock. */
    private Answer process(String method, String path, Map<String, String> headers, byte[] body) {
        if (!"POST".equals(method) || !"/v1/batch".equals(path)) {
            return Answer.of(404);
        }
        String expected = "Basic " + Base64.getEncoder().encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));
        if (!expected.equals(headers.get("Authorization"))) {
            return Answer.of(401);
        }
        if (body.length > MAX_REQUEST_BYTES) {
            return Answer.of(400);
        }
        JsonNode batch;
        try {
            batch = MAPPER.readTree(body).path("batch");
        } catch (IOException | RuntimeException e) {
            return Answer.of(400);
        }
        if (!batch.isArray()) {
            return Answer.of(400);
        }
        for (JsonNode m : batch) {
            if (size(m) > MAX_MESSAGE_BYTES || rejectWhen.test(m)) {
                return Answer.of(400);
            }
        }
        int taken = 0;
        int dup = 0;
        int dropped = 0;
        int index = 0;
        for (JsonNode m : batch) {
            if (index++ >= MAX_MESSAGES) {
                droppedOverLimit++;
                dropped++;
                continue;
            }
            String type = m.path("type").asText("");
            boolean hasUser = !m.path("userId").asText("").isEmpty() || !m.path("anonymousId").asText("").isEmpty();
            boolean needsUser = "identify".equals(type) || "track".equals(type);
            if (type.isEmpty() || (needsUser && !hasUser)
                    || ("track".equals(type) && m.path("event").asText("").isEmpty())) {
                droppedInvalid++;
                dropped++;
                continue;
            }
            String messageId = m.path("messageId").asText("");
            if (!messageId.isEmpty() && !seenMessageIds.add(messageId)) {
                duplicates++;
                dup++;
                continue;
            }
            accepted.add(m);
            taken++;
        }
        return new Answer(200, taken, dup, dropped);
    }

    private static int size(JsonNode message) {
        try {
            return MAPPER.writeValueAsBytes(message).length;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
