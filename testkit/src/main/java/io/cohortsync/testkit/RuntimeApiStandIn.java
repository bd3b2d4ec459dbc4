package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for one Lambda execution environment's side of the Lambda Runtime API
 * (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html, version 2018-06-01), on a free loopback port,
 * started and stopped through its own handle. A runtime (the real runtime interface client, pointed at
 * it with {@code AWS_LAMBDA_RUNTIME_API=}{@link #runtimeApi()}) talks to it exactly as to Lambda:
 * <ul>
 *   <li>{@code GET /2018-06-01/runtime/invocation/next} blocks until {@link #submit} queues an event, then
 *       answers it with {@code Lambda-Runtime-Aws-Request-Id}, {@code Lambda-Runtime-Deadline-Ms} (now plus
 *       the invocation's timeout, counted from when the runtime takes it), {@code
 *       Lambda-Runtime-Invoked-Function-Arn}, {@code Lambda-Runtime-Trace-Id}, and {@code
 *       Lambda-Runtime-Client-Context} / {@code Lambda-Runtime-Cognito-Identity} when the invocation has them;</li>
 *   <li>{@code POST …/invocation/{id}/response} and {@code …/{id}/error} (with its {@code
 *       Lambda-Runtime-Function-Error-Type}) complete the invocation: 202, or 400 for an id that is not
 *       waiting for an answer, 413 for a response over the 6 MB synchronous payload limit;</li>
 *   <li>{@code POST /2018-06-01/runtime/init/error}: recorded, 202;</li>
 *   <li>SnapStart's restore flow as the Java runtime client calls it: {@code GET …/runtime/restore/next}
 *       (answered at once: there is no snapshot to restore here, the same JVM goes on) and {@code POST
 *       …/runtime/restore/error};</li>
 *   <li>a container-credentials endpoint ({@link #credentialsUri()}), as SnapStart functions get their
 *       credentials: GET with {@code Authorization: }{@link #authorizationToken()} answers {@code
 *       {"AccessKeyId","SecretAccessKey","Token","Expiration"}}; any other Authorization is refused with 403.</li>
 * </ul>
 * Everything the runtime sent is recorded, so tests assert on what crossed the interface.
 */
public final class RuntimeApiStandIn implements AutoCloseable {
    public static final String VERSION = "2018-06-01";
    /** Lambda's limit on a synchronous invocation's response (6 MB, as the docs count it). */
    public static final int MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
    public static final String CREDENTIALS_PATH = "/container-credentials";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "/" + VERSION + "/runtime";

    /** What {@link #submit} queues: the event and what Lambda would say about it. */
    public record Invocation(byte[] event, Duration timeout, String clientContext, String cognitoIdentity) {
        public Invocation {
            Objects.requireNonNull(event, "event");
            Objects.requireNonNull(timeout, "timeout");
        }

        public static Invocation of(String event, Duration timeout) {
            return new Invocation(event.getBytes(StandardCharsets.UTF_8), timeout, null, null);
        }

        public Invocation withClientContext(String json) {
            return new Invocation(event, timeout, json, cognitoIdentity);
        }

        public Invocation withCognitoIdentity(String json) {
            return new Invocation(event, timeout, clientContext, json);
        }
    }

    /**
     * How an invocation ended, as the runtime reported it.
     *
     * @param takenNanos     {@link System#nanoTime()} when the runtime took the event (its GET /next was answered)
     * @param completedNanos when its response or error arrived
     * @param errorType      the {@code Lambda-Runtime-Function-Error-Type} of an error, else null
     */
    public record Outcome(String requestId, boolean error, byte[] body, String errorType, long deadlineMs,
                          long takenNanos, long completedNanos) {
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + bodyText(), e);
            }
        }

        public double invokeMs() {
            return (completedNanos - takenNanos) / 1e6;
        }
    }

    /** A POST to one of the error endpoints: its path, error type header, body and arrival time. */
    public record ReportedError(String path, String errorType, byte[] body, long atNanos) {
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** One request the runtime (or anything else) sent: method, path (no query), arrival time. */
    public record Call(String method, String path, long atNanos) {
    }

    private record Pending(String requestId, Invocation invocation, CompletableFuture<Outcome> outcome) {
    }

    private record Taken(Pending pending, long deadlineMs, long takenNanos) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final String functionArn;
    private final String authorizationToken = "cst-" + UUID.randomUUID();
    private final LinkedBlockingQueue<Pending> queued = new LinkedBlockingQueue<>();
    private final Map<String, Taken> inFlight = new ConcurrentHashMap<>();
    private final List<Call> calls = new ArrayList<>();
    private final List<ReportedError> initErrors = new ArrayList<>();
    private final List<ReportedError> restoreErrors = new ArrayList<>();
    private final CompletableFuture<ReportedError> firstInitError = new CompletableFuture<>();
    private final AtomicInteger credentialRequests = new AtomicInteger();
    private final AtomicInteger refusedCredentialRequests = new AtomicInteger();
    private final AtomicInteger restoreNextCalls = new AtomicInteger();
    private volatile long firstNextNanos;
    private volatile boolean closed;

    private RuntimeApiStandIn(String functionArn) {
        this.functionArn = functionArn;
        try {
            this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("could not bind the Runtime API stand-in", e);
        }
        // GET /next is a long poll: a thread per request, so it never holds up a response or an error.
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a stand-in for the function {@code functionName} (its invoked ARN is in us-east-1, account 123456789012). */
    public static RuntimeApiStandIn start(String functionName) {
        return new RuntimeApiStandIn("arn:aws:lambda:us-east-1:123456789012:function:" + functionName);
    }

    /** {@code host:port}, the value of {@code AWS_LAMBDA_RUNTIME_API}. */
    public String runtimeApi() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    /** The value of {@code AWS_CONTAINER_CREDENTIALS_FULL_URI}. */
    public String credentialsUri() {
        return "http://" + runtimeApi() + CREDENTIALS_PATH;
    }

    /** The value of {@code AWS_CONTAINER_AUTHORIZATION_TOKEN}: what the credentials endpoint requires. */
    public String authorizationToken() {
        return authorizationToken;
    }

    public String functionArn() {
        return functionArn;
    }

    /** Queues an invocation; the future completes when the runtime reports its response or error. */
    public CompletableFuture<Outcome> submit(Invocation invocation) {
        if (closed) {
            throw new IllegalStateException("the stand-in is closed");
        }
        Pending p = new Pending(UUID.randomUUID().toString(), invocation, new CompletableFuture<>());
        queued.add(p);
        return p.outcome();
    }

    /**
     * Submits and waits for the outcome, at most the invocation's timeout plus {@code grace} after it was
     * queued (init of a cold runtime happens in that time too, as on Lambda's first invoke).
     *
     * @throws IllegalStateException if no outcome came in that time
     */
    public Outcome invoke(Invocation invocation, Duration grace) {
        CompletableFuture<Outcome> outcome = submit(invocation);
        try {
            return outcome.get(invocation.timeout().plus(grace).toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("no response or error within " + invocation.timeout().plus(grace)
                    + "; calls so far: " + calls(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The first {@code /runtime/init/error}, waiting at most {@code wait} for it; null if none came. */
    public ReportedError awaitInitError(Duration wait) {
        try {
            return firstInitError.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@link System#nanoTime()} of the runtime's first {@code GET /next} (the end of its init), or 0. */
    public long firstNextNanos() {
        return firstNextNanos;
    }

    public List<Call> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    public List<ReportedError> initErrors() {
        synchronized (initErrors) {
            return List.copyOf(initErrors);
        }
    }

    public List<ReportedError> restoreErrors() {
        synchronized (restoreErrors) {
            return List.copyOf(restoreErrors);
        }
    }

    public int restoreNextCalls() {
        return restoreNextCalls.get();
    }

    /** Credential requests that carried the right token and were answered with credentials. */
    public int credentialRequests() {
        return credentialRequests.get();
    }

    /** Credential requests refused for a missing or wrong Authorization header. */
    public int refusedCredentialRequests() {
        return refusedCredentialRequests.get();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(0);
        executor.shutdownNow();
        IllegalStateException gone = new IllegalStateException("the Runtime API stand-in was closed");
        queued.forEach(p -> p.outcome().completeExceptionally(gone));
        inFlight.values().forEach(t -> t.pending().outcome().completeExceptionally(gone));
    }

    // ------------------------------------------------------------------ HTTP

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            long at = System.nanoTime();
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            synchronized (calls) {
                calls.add(new Call(method, path, at));
            }
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (path.equals(CREDENTIALS_PATH) && method.equals("GET")) {
                credentials(exchange);
            } else if (path.equals(PREFIX + "/invocation/next") && method.equals("GET")) {
                next(exchange, at);
            } else if (path.startsWith(PREFIX + "/invocation/") && method.equals("POST")) {
                String rest = path.substring((PREFIX + "/invocation/").length());
                int slash = rest.indexOf('/');
                String id = slash < 0 ? "" : rest.substring(0, slash);
                String verb = slash < 0 ? "" : rest.substring(slash + 1);
                if (verb.equals("response")) {
                    complete(exchange, id, false, body, null, at);
                } else if (verb.equals("error")) {
                    complete(exchange, id, true, body, exchange.getRequestHeaders().getFirst("Lambda-Runtime-Function-Error-Type"), at);
                } else {
                    answer(exchange, 404, "{\"errorMessage\":\"unknown path\",\"errorType\":\"NotFound\"}");
                }
            } else if (path.equals(PREFIX + "/init/error") && method.equals("POST")) {
                ReportedError e = reported(exchange, path, body, at);
                synchronized (initErrors) {
                    initErrors.add(e);
                }
                firstInitError.complete(e);
                answer(exchange, 202, "{\"status\":\"OK\"}");
            } else if (path.equals(PREFIX + "/restore/next") && method.equals("GET")) {
                restoreNextCalls.incrementAndGet();
                answer(exchange, 200, "");
            } else if (path.equals(PREFIX + "/restore/error") && method.equals("POST")) {
                synchronized (restoreErrors) {
                    restoreErrors.add(reported(exchange, path, body, at));
                }
                answer(exchange, 202, "{\"status\":\"OK\"}");
            } else {
                answer(exchange, 404, "{\"errorMessage\":\"unknown path\",\"errorType\":\"NotFound\"}");
            }
        } catch (RuntimeException e) {
            answer(exchange, 500, "{\"errorMessage\":\"stand-in failure\",\"errorType\":\"" + e.getClass().getSimpleName() + "\"}");
        }
    }

    private void next(HttpExchange exchange, long at) throws IOException {
        if (firstNextNanos == 0) {
            firstNextNanos = at;
        }
        Pending p;
        try {
            p = queued.take(); // no timeout: the docs tell runtimes not to set one on this GET either
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // closed: the connection just drops, as when Lambda freezes or ends the environment
        }
        long deadline = Instant.now().plus(p.invocation().timeout()).toEpochMilli();
        inFlight.put(p.requestId(), new Taken(p, deadline, System.nanoTime()));
        var h = exchange.getResponseHeaders();
        h.set("Content-Type", "application/json");
        h.set("Lambda-Runtime-Aws-Request-Id", p.requestId());
        h.set("Lambda-Runtime-Deadline-Ms", Long.toString(deadline));
        h.set("Lambda-Runtime-Invoked-Function-Arn", functionArn);
        h.set("Lambda-Runtime-Trace-Id", traceId());
        if (p.invocation().clientContext() != null) {
            h.set("Lambda-Runtime-Client-Context", p.invocation().clientContext());
        }
        if (p.invocation().cognitoIdentity() != null) {
            h.set("Lambda-Runtime-Cognito-Identity", p.invocation().cognitoIdentity());
        }
        byte[] event = p.invocation().event();
        exchange.sendResponseHeaders(200, event.length == 0 ? -1 : event.length);
        if (event.length > 0) {
            exchange.getResponseBody().write(event);
        }
    }

    private void complete(HttpExchange exchange, String id, boolean error, byte[] body, String errorType, long at)
            throws IOException {
        Taken t = inFlight.remove(id);
        if (t == null) {
            answer(exchange, 400, "{\"errorMessage\":\"no invocation " + id.replaceAll("[^A-Za-z0-9-]", "")
                    + " is waiting for an answer\",\"errorType\":\"InvalidRequestID\"}");
            return;
        }
        if (!error && body.length > MAX_RESPONSE_BYTES) {
            // Lambda fails the invocation; the runtime is told so and the caller gets a payload error.
            answer(exchange, 413, "{\"errorMessage\":\"response over " + MAX_RESPONSE_BYTES
                    + " bytes\",\"errorType\":\"RequestEntityTooLarge\"}");
            t.pending().outcome().complete(new Outcome(id, true, body, "Function.ResponseSizeTooLarge",
                    t.deadlineMs(), t.takenNanos(), at));
            return;
        }
        answer(exchange, 202, "{\"status\":\"OK\"}");
        t.pending().outcome().complete(new Outcome(id, error, body, errorType, t.deadlineMs(), t.takenNanos(), at));
    }

    private void credentials(HttpExchange exchange) throws IOException {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        if (!authorizationToken.equals(authorization)) {
            refusedCredentialRequests.incrementAndGet();
            answer(exchange, 403, "{\"message\":\"invalid or missing Authorization\"}");
            return;
        }
        credentialRequests.incrementAndGet();
        // Short-lived session credentials, as Lambda hands them out (the emulator accepts any).
        var c = JSON.createObjectNode();
        c.put("AccessKeyId", "ASIA" + HexFormat.of().withUpperCase().formatHex(random(8)));
        c.put("SecretAccessKey", HexFormat.of().formatHex(random(20)));
        c.put("Token", "snapstart-session-" + UUID.randomUUID());
        c.put("Expiration", Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS).toString());
        answer(exchange, 200, c.toString());
    }

    private static ReportedError reported(HttpExchange exchange, String path, byte[] body, long at) {
        return new ReportedError(path, exchange.getRequestHeaders().getFirst("Lambda-Runtime-Function-Error-Type"),
                body, at);
    }

    private static String traceId() {
        String hex = HexFormat.of().formatHex(random(12));
        return "Root=1-" + Long.toHexString(Instant.now().getEpochSecond()) + "-" + hex + ";Parent="
                + HexFormat.of().formatHex(random(8)) + ";Sampled=0";
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
    }
}
