package io.cohortsync.testkit;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * API Gateway HTTP API (payload 2.0) events, built as JSON and read with the Lambda runtime's own
 * serializer, so the handler sees exactly what it would see deployed.
 */
public final class ApiGatewayEvents {
    private static final PojoSerializer<APIGatewayV2HTTPEvent> SERIALIZER =
            LambdaEventSerializers.serializerFor(APIGatewayV2HTTPEvent.class, ApiGatewayEvents.class.getClassLoader());

    private ApiGatewayEvents() {
    }

    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** A POST /mixpanel with the test stack's credentials. */
    public static APIGatewayV2HTTPEvent post(String body) {
        return post(body, basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD));
    }

    public static APIGatewayV2HTTPEvent post(String body, String authorization) {
        Map<String, String> headers = new HashMap<>();
        headers.put("content-type", "application/json");
        if (authorization != null) {
            headers.put("authorization", authorization);
        }
        return post(body, headers, false);
    }

    public static APIGatewayV2HTTPEvent post(String body, Map<String, String> headers, boolean base64) {
        var json = new ObjectMapper().createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "POST /mixpanel");
        json.put("rawPath", "/mixpanel");
        json.put("rawQueryString", "");
        var h = json.putObject("headers");
        headers.forEach(h::put);
        var ctx = json.putObject("requestContext");
        ctx.put("accountId", "123456789012");
        ctx.put("apiId", "local");
        ctx.put("requestId", UUID.randomUUID().toString());
        ctx.put("routeKey", "POST /mixpanel");
        ctx.put("stage", "$default");
        ctx.putObject("http").put("method", "POST").put("path", "/mixpanel").put("protocol", "HTTP/1.1")
                .put("sourceIp", "127.0.0.1").put("userAgent", "cohort-sync-test");
        if (body != null) {
            json.put("body", base64 ? Base64.getEncoder().encodeToString(body.getBytes(StandardCharsets.UTF_8)) : body);
        }
        json.put("isBase64Encoded", base64);
        return parse(json.toString());
    }

    public static APIGatewayV2HTTPEvent parse(String eventJson) {
        return SERIALIZER.fromJson(new ByteArrayInputStream(eventJson.getBytes(StandardCharsets.UTF_8)));
    }

    /** Loads one of the repository's {@code events/*.json} fixtures. */
    public static APIGatewayV2HTTPEvent fixture(String fileName) {
        return parse(Fixtures.read(fileName));
    }

    /** Reads the repository's {@code events/} folder from any module's working directory. */
    public static final class Fixtures {
        private Fixtures() {
        }

        public static String read(String fileName) {
            for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
                Path candidate = dir.resolve("events").resolve(fileName);
                if (Files.isRegularFile(candidate)) {
                    try {
                        return Files.readString(candidate);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
            throw new IllegalArgumentException("no events/" + fileName + " above " + Path.of("").toAbsolutePath());
        }
    }
}
