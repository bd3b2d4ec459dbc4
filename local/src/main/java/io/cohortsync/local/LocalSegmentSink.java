package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where identifies go when no {@code SEGMENT_ENDPOINT} is set: a tiny {@code /v1/batch} endpoint that
 * prints each identify (and track event, with {@code SEGMENT_CALLS}) on one line and appends it, as JSON, to a file. It is a local console, so it
 * shows user ids; CloudWatch logs never do.
 */
final class LocalSegmentSink implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final Path file;
    private final PrintStream console;
    private final AtomicLong identifies = new AtomicLong();

    LocalSegmentSink(Path file, PrintStream console) throws IOException {
        this.file = file;
        this.console = console;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/v1/batch", this::batch);
        server.start();
    }

    URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    Path file() {
        return file;
    }

    long identifies() {
        return identifies.get();
    }

    private void batch(HttpExchange exchange) throws IOException {
        try (exchange) {
            JsonNode body;
            try {
                body = JSON.readTree(exchange.getRequestBody());
            } catch (IOException e) {
                respond(exchange, 400, "{\"success\":false}");
                return;
            }
            StringBuilder lines = new StringBuilder();
            for (JsonNode message : body.path("batch")) {
                identifies.incrementAndGet();
                // SEGMENT_CALLS may add track events; an anonymous member (MISSING_USER_ID=anonymous) has anonymousId.
                String who = message.hasNonNull("userId") ? "userId=" + message.path("userId").asText()
                        : "anonymousId=" + message.path("anonymousId").asText();
                String what = "track".equals(message.path("type").asText())
                        ? "track " + who + " event=\"" + message.path("event").asText() + "\" properties="
                                + message.path("properties")
                        : "identify " + who + " traits=" + message.path("traits");
                console.println(what + " messageId=" + message.path("messageId").asText());
                lines.append(message).append('\n');
            }
            synchronized (this) {
                Files.writeString(file, lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            respond(exchange, 200, "{\"success\":true}");
        } catch (UncheckedIOException e) {
            respond(exchange, 500, "{\"success\":false}");
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("content-type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
