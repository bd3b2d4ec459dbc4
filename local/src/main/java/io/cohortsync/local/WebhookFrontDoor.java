package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Stands in for API Gateway's HTTP API: every request on {@code /mixpanel} becomes a payload-2.0
 * event (JSON), goes to the webhook function (its handler in this JVM behind the runtime's serializer,
 * or its package under the real runtime client), and the function's response JSON is written out as
 * API Gateway maps it. A function error is API Gateway's 500. Other paths get API Gateway's 404.
 */
final class WebhookFrontDoor implements AutoCloseable {
    /** API Gateway's payload limit for HTTP APIs. */
    static final int MAX_BODY_BYTES = 10 * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter CLF = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH)
            .withZone(ZoneOffset.UTC);

    private final HttpServer server;
    private final ExecutorService executor;
    private final LambdaFunction function;
    private final Duration timeout;

    WebhookFrontDoor(String host, int port, LambdaFunction function, Duration timeout) throws IOException {
        this.function = function;
        this.timeout = timeout;
        this.server = HttpServer.create(new InetSocketAddress(host, port), 64);
        this.executor = Executors.newFixedThreadPool(8);
        server.setExecutor(executor);
        server.createContext("/", this::serve);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            boolean status = "GET".equals(exchange.getRequestMethod()) && path.equals("/mixpanel/status");
            boolean route = status || "POST".equals(exchange.getRequestMethod())
                    && (path.equals("/mixpanel") || path.startsWith("/mixpanel/"));
            if (!route) {
                write(exchange, 404, Map.of("content-type", "application/json"), "{\"message\":\"Not Found\"}");
                return;
            }
            byte[] body = readLimited(exchange.getRequestBody());
            if (body == null) {
                write(exchange, 413, Map.of("content-type", "application/json"),
                        "{\"message\":\"Request Entity Too Large\"}");
                return;
            }
            byte[] response = function.invoke(eventJson(exchange, status ? "GET /mixpanel/status" : "POST /mixpanel",
                    path, body), timeout);
            JsonNode json = JSON.readTree(response);
            ObjectNode headers = (ObjectNode) json.path("headers");
            Map<String, String> h = new HashMap<>();
            headers.fields().forEachRemaining(e -> h.put(e.getKey(), e.getValue().asText()));
            String responseBody = json.path("body").asText("");
            if (json.path("isBase64Encoded").asBoolean(false)) {
                responseBody = new String(Base64.getDecoder().decode(responseBody), StandardCharsets.UTF_8);
            }
            write(exchange, json.path("statusCode").asInt(500), h, responseBody);
        } catch (RuntimeException e) {
            // What API Gateway answers when the integration fails.
            write(exchange, 500, Map.of("content-type", "application/json"), "{\"message\":\"Internal Server Error\"}");
        }
    }

    private static byte[] eventJson(HttpExchange exchange, String routeKey, String path, byte[] body)
            throws IOException {
        ObjectNode e = JSON.createObjectNode();
        e.put("version", "2.0");
        e.put("routeKey", routeKey);
        e.put("rawPath", path);
        String query = exchange.getRequestURI().getRawQuery();
        e.put("rawQueryString", query == null ? "" : query);
        if (query != null && !query.isEmpty()) {
            ObjectNode params = e.putObject("queryStringParameters");
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                params.put(k, params.has(k) ? params.get(k).asText() + "," + v : v); // API Gateway joins repeats
            }
        }
        ObjectNode headers = e.putObject("headers");
        exchange.getRequestHeaders().forEach((name, values) ->
                headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
        ObjectNode ctx = e.putObject("requestContext");
        Instant now = Instant.now();
        ctx.put("accountId", "000000000000");
        ctx.put("apiId", "local");
        ctx.put("domainName", "127.0.0.1");
        ctx.put("requestId", UUID.randomUUID().toString());
        ctx.put("routeKey", routeKey);
        ctx.put("stage", "$default");
        ctx.put("time", CLF.format(now));
        ctx.put("timeEpoch", now.toEpochMilli());
        ctx.putObject("http").put("method", exchange.getRequestMethod()).put("path", path)
                .put("protocol", exchange.getProtocol())
                .put("sourceIp", exchange.getRemoteAddress().getAddress().getHostAddress())
                .put("userAgent", exchange.getRequestHeaders().getFirst("user-agent"));
        // API Gateway base64-encodes bodies it does not consider text; do the same for anything not JSON/text.
        String type = String.valueOf(exchange.getRequestHeaders().getFirst("content-type")).toLowerCase(Locale.ROOT);
        boolean text = type.contains("json") || type.startsWith("text/");
        if (body.length > 0 || !"GET".equals(exchange.getRequestMethod())) {
            e.put("body", text ? new String(body, StandardCharsets.UTF_8) : Base64.getEncoder().encodeToString(body));
        }
        e.put("isBase64Encoded", body.length > 0 && !text);
        return JSON.writeValueAsBytes(e);
    }

    private static byte[] readLimited(InputStream in) throws IOException {
        byte[] data = in.readNBytes(MAX_BODY_BYTES + 1);
        return data.length > MAX_BODY_BYTES ? null : data;
    }

    private static void write(HttpExchange exchange, int status, Map<String, String> headers, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
