package io.cohortsync.lambda;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the events Lambda hands our functions and writes their answers, with the project's own Jackson, for the
 * functions' stream entry points (README "Cold start"). The runtime's own reader for typed handlers
 * (aws-lambda-java-serialization) brings a second, shaded Jackson and introspects the event classes on first use:
 * 700 to 900 classes at every cold start, a sixth of what a function loads. Only the fields our handlers read are
 * mapped (the rest of an event is ignored, as the runtime ignores unknown fields); names and shapes are the
 * documented ones: API Gateway HTTP API payload format 2.0 ("Working with AWS Lambda proxy integrations for HTTP
 * APIs") and the SQS event with partial batch responses ("Using Lambda with Amazon SQS").
 * <p>An unreadable event is an {@link UnreadableEventException} whose message names what was expected and where the
 * JSON broke, never the event's content (it may hold user ids).
 */
public final class LambdaEvents {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LambdaEvents() {
    }

    /** An SQS event: each record's id, receipt handle, body, attributes and source. */
    public static SQSEvent readSqsEvent(InputStream in) {
        JsonNode root = object(read(in, "an SQS event"), "an SQS event");
        List<SQSEvent.SQSMessage> records = new ArrayList<>();
        JsonNode list = root.path("Records");
        if (!list.isMissingNode() && !list.isNull() && !list.isArray()) {
            throw new UnreadableEventException("an SQS event's Records is not a list");
        }
        for (JsonNode r : list) {
            object(r, "an SQS record");
            SQSEvent.SQSMessage m = new SQSEvent.SQSMessage();
            m.setMessageId(text(r, "messageId"));
            m.setReceiptHandle(text(r, "receiptHandle"));
            m.setBody(text(r, "body"));
            m.setMd5OfBody(text(r, "md5OfBody"));
            m.setAttributes(strings(r.path("attributes")));
            m.setEventSource(text(r, "eventSource"));
            m.setEventSourceArn(text(r, "eventSourceARN"));
            m.setAwsRegion(text(r, "awsRegion"));
            records.add(m);
        }
        SQSEvent event = new SQSEvent();
        event.setRecords(records);
        return event;
    }

    /** {@code {"batchItemFailures":[{"itemIdentifier":…}]}}: the records SQS must deliver again. */
    public static void writeBatchResponse(SQSBatchResponse response, OutputStream out) {
        write(out, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("batchItemFailures");
            if (response.getBatchItemFailures() != null) {
                for (SQSBatchResponse.BatchItemFailure f : response.getBatchItemFailures()) {
                    g.writeStartObject();
                    g.writeStringField("itemIdentifier", f.getItemIdentifier());
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** An HTTP API (payload format 2.0) request: path, headers, query, body, and the request context's id and method. */
    public static APIGatewayV2HTTPEvent readHttpEvent(InputStream in) {
        JsonNode root = object(read(in, "an API Gateway HTTP event"), "an API Gateway HTTP event");
        JsonNode context = root.path("requestContext");
        JsonNode http = context.path("http");
        return APIGatewayV2HTTPEvent.builder()
                .withVersion(text(root, "version"))
                .withRouteKey(text(root, "routeKey"))
                .withRawPath(text(root, "rawPath"))
                .withRawQueryString(text(root, "rawQueryString"))
                .withHeaders(strings(root.path("headers")))
                .withQueryStringParameters(strings(root.path("queryStringParameters")))
                .withBody(text(root, "body"))
                .withIsBase64Encoded(root.path("isBase64Encoded").asBoolean(false))
                .withRequestContext(context.isObject() ? APIGatewayV2HTTPEvent.RequestContext.builder()
                        .withRequestId(text(context, "requestId"))
                        .withRouteKey(text(context, "routeKey"))
                        .withStage(text(context, "stage"))
                        .withHttp(http.isObject() ? APIGatewayV2HTTPEvent.RequestContext.Http.builder()
                                .withMethod(text(http, "method"))
                                .withPath(text(http, "path"))
                                .withProtocol(text(http, "protocol"))
                                .withSourceIp(text(http, "sourceIp"))
                                .withUserAgent(text(http, "userAgent"))
                                .build() : null)
                        .build() : null)
                .build();
    }

    /** {@code {"statusCode":…,"headers":{…},"body":…,"isBase64Encoded":…}}, what API Gateway turns into the answer. */
    public static void writeHttpResponse(APIGatewayV2HTTPResponse response, OutputStream out) {
        write(out, g -> {
            g.writeStartObject();
            g.writeNumberField("statusCode", response.getStatusCode());
            if (response.getHeaders() != null) {
                g.writeObjectFieldStart("headers");
                for (Map.Entry<String, String> h : response.getHeaders().entrySet()) {
                    g.writeStringField(h.getKey(), h.getValue());
                }
                g.writeEndObject();
            }
            if (response.getBody() != null) {
                g.writeStringField("body", response.getBody());
            }
            g.writeBooleanField("isBase64Encoded", response.getIsBase64Encoded());
            g.writeEndObject();
        });
    }

    private interface Writer {
        void write(JsonGenerator g) throws IOException;
    }

    private static void write(OutputStream out, Writer body) {
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode read(InputStream in, String expected) {
        try {
            JsonNode node = JSON.readTree(in);
            if (node == null || node.isMissingNode()) {
                throw new UnreadableEventException("the event is empty (" + expected + " expected)");
            }
            return node;
        } catch (JsonProcessingException e) {
            // Jackson's own message may quote the input: keep only where it broke.
            String at = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new UnreadableEventException("the event is not JSON (" + expected + " expected): "
                    + e.getClass().getSimpleName() + at);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode object(JsonNode node, String expected) {
        if (!node.isObject()) {
            throw new UnreadableEventException("the event is not " + expected + ": a JSON " + node.getNodeType()
                    .name().toLowerCase(Locale.ROOT) + " instead of an object");
        }
        return node;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.isValueNode() ? v.asText() : v.toString();
    }

    /** A JSON object of strings (headers, query parameters, attributes); null when absent, as the runtime's reader. */
    private static Map<String, String> strings(JsonNode node) {
        if (!node.isObject()) {
            return null;
        }
        Map<String, String> map = new LinkedHashMap<>();
        node.properties().forEach(e -> map.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText()));
        return map;
    }
}
