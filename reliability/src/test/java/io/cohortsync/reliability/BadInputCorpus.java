package io.cohortsync.reliability;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The bad-input corpus: one webhook request per file under {@code src/test/resources/bad-input/}
 * ({@code NNN-name.request}), described in that folder's README. A file is a few header lines, a line
 * {@code ---}, and the body verbatim, with placeholders for what a text file cannot hold comfortably.
 */
record BadInputCorpus(String name, String description, int status, String auth, String encoding, String secret,
                      int padTo, Integer skipped, Integer stored, byte[] body) {
    private static final Pattern PLACEHOLDER = Pattern.compile(
            "\\{\\{(?:repeat (\\d+) (.+?)|bytes ([0-9a-fA-F ]+)|members (\\d+)|user|password|basic-credentials)}}");
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<BadInputCorpus> load() {
        try {
            Path dir = Path.of(BadInputCorpus.class.getResource("/bad-input").toURI());
            try (Stream<Path> files = Files.list(dir)) {
                List<BadInputCorpus> cases = new ArrayList<>();
                for (Path f : files.filter(p -> p.toString().endsWith(".request")).sorted().toList()) {
                    cases.add(parse(f.getFileName().toString().replace(".request", ""), Files.readString(f)));
                }
                return cases;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static BadInputCorpus parse(String name, String text) {
        int split = text.indexOf("\n---\n");
        if (split < 0) {
            throw new IllegalArgumentException(name + ": no '---' line between headers and body");
        }
        String description = "";
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line : text.substring(0, split).split("\n")) {
            if (line.startsWith("#")) {
                description = line.substring(1).strip();
            } else if (!line.isBlank()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).strip(), line.substring(colon + 1).stripLeading());
            }
        }
        String body = text.substring(split + 5);
        if (body.endsWith("\n")) {
            body = body.substring(0, body.length() - 1); // the file's own final newline
        }
        for (String known : headers.keySet()) {
            if (!List.of("status", "auth", "encoding", "secret", "pad-to", "skipped", "stored").contains(known)) {
                throw new IllegalArgumentException(name + ": unknown header '" + known + "'");
            }
        }
        return new BadInputCorpus(name, description, Integer.parseInt(headers.get("status")),
                headers.getOrDefault("auth", "valid"), headers.getOrDefault("encoding", "text"),
                headers.getOrDefault("secret", "ok"), Integer.parseInt(headers.getOrDefault("pad-to", "0")),
                headers.containsKey("skipped") ? Integer.valueOf(headers.get("skipped")) : null,
                headers.containsKey("stored") ? Integer.valueOf(headers.get("stored")) : null,
                expand(body));
    }

    /** The body's bytes: text as UTF-8, {@code {{bytes ..}}} verbatim, padded with spaces to {@code pad-to}. */
    private static byte[] expand(String body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Matcher m = PLACEHOLDER.matcher(body);
        int at = 0;
        while (m.find()) {
            out.writeBytes(body.substring(at, m.start()).getBytes(StandardCharsets.UTF_8));
            out.writeBytes(placeholder(m));
            at = m.end();
        }
        out.writeBytes(body.substring(at).getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    private static byte[] placeholder(Matcher m) {
        if (m.group(1) != null) {
            return m.group(2).repeat(Integer.parseInt(m.group(1))).getBytes(StandardCharsets.UTF_8);
        }
        if (m.group(3) != null) {
            return HexFormat.of().parseHex(m.group(3).replace(" ", ""));
        }
        if (m.group(4) != null) {
            // Members as Mixpanel exports them, PII included: bad0@example.com, bad1@example.com, …
            List<String> members = new ArrayList<>();
            for (int i = 0; i < Integer.parseInt(m.group(4)); i++) {
                members.add(Exports.member("bad" + i + "@example.com").toString());
            }
            return String.join(", ", members).getBytes(StandardCharsets.UTF_8);
        }
        return credentials(m.group()).getBytes(StandardCharsets.UTF_8);
    }

    private static String credentials(String placeholder) {
        return switch (placeholder) {
            case "{{user}}" -> AwsStack.WEBHOOK_USERNAME;
            case "{{password}}" -> AwsStack.WEBHOOK_PASSWORD;
            case "{{basic-credentials}}" -> Base64.getEncoder().encodeToString(
                    (AwsStack.WEBHOOK_USERNAME + ":" + AwsStack.WEBHOOK_PASSWORD).getBytes(StandardCharsets.UTF_8));
            default -> throw new IllegalArgumentException(placeholder);
        };
    }

    byte[] paddedBody() {
        if (padTo <= body.length) {
            return body;
        }
        byte[] padded = new byte[padTo];
        System.arraycopy(body, 0, padded, 0, body.length);
        Arrays.fill(padded, body.length, padTo, (byte) ' ');
        return padded;
    }

    /** The Authorization header this case sends, or null for none. */
    String authorization() {
        if (auth.equals("valid")) {
            return ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD);
        }
        if (auth.equals("none")) {
            return null;
        }
        if (auth.equals("empty")) {
            return "";
        }
        String value = new String(expand(auth.substring(auth.indexOf(' ') + 1)), StandardCharsets.UTF_8);
        if (auth.startsWith("header ")) {
            return value;
        }
        if (auth.startsWith("basic ")) {
            int colon = value.indexOf(':');
            return ApiGatewayEvents.basic(value.substring(0, colon), value.substring(colon + 1));
        }
        throw new IllegalArgumentException(name + ": auth must be valid, none, 'basic u:p' or 'header <value>'");
    }

    /** Strings of this case that are secret-like and must never be printed (the wrong passwords it sends). */
    List<String> sentSecrets() {
        if (auth.startsWith("basic ")) {
            String value = new String(expand(auth.substring(6)), StandardCharsets.UTF_8);
            String password = value.substring(value.indexOf(':') + 1).strip();
            return password.length() >= 6 ? List.of(password) : List.of();
        }
        return List.of();
    }

    /** The API Gateway (HTTP API, payload 2.0) event, read by the Lambda runtime's serializer. */
    APIGatewayV2HTTPEvent event() {
        byte[] bytes = paddedBody();
        ObjectNode json = JSON.createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "POST /mixpanel");
        json.put("rawPath", "/mixpanel");
        json.put("rawQueryString", "");
        ObjectNode h = json.putObject("headers");
        h.put("content-type", "application/json");
        String authorization = authorization();
        if (authorization != null) {
            h.put("authorization", authorization);
        }
        ObjectNode ctx = json.putObject("requestContext");
        ctx.put("accountId", "123456789012");
        ctx.put("apiId", "local");
        ctx.put("requestId", "bad-input-" + name);
        ctx.put("routeKey", "POST /mixpanel");
        ctx.put("stage", "$default");
        ctx.putObject("http").put("method", "POST").put("path", "/mixpanel").put("protocol", "HTTP/1.1")
                .put("sourceIp", "127.0.0.1").put("userAgent", "cohort-sync-bad-input");
        switch (encoding) {
            // API Gateway hands a text body over as a string: bytes that are not UTF-8 arrive replaced.
            case "text" -> {
                if (bytes.length > 0) {
                    json.put("body", new String(bytes, StandardCharsets.UTF_8));
                }
                json.put("isBase64Encoded", false);
            }
            // A binary body arrives base64-encoded, byte for byte.
            case "base64" -> {
                json.put("body", Base64.getEncoder().encodeToString(bytes));
                json.put("isBase64Encoded", true);
            }
            // Flagged as base64 without being base64.
            case "base64-raw" -> {
                json.put("body", new String(bytes, StandardCharsets.UTF_8));
                json.put("isBase64Encoded", true);
            }
            default -> throw new IllegalArgumentException(name + ": encoding must be text, base64 or base64-raw");
        }
        return ApiGatewayEvents.parse(json.toString());
    }

    @Override
    public String toString() {
        return name;
    }
}
