package io.cohortsync.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.regions.Region;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

/**
 * An {@link SdkHttpClient} for SnapStart priming: it answers every DynamoDB, SQS and Secrets Manager call
 * from memory and never opens a connection, resolves a host or reads credentials. The real SDK clients
 * built on it (through {@link #clients}) still marshal, sign (with placeholder keys, never the function's),
 * resolve endpoints, check checksums and unmarshal, so the classes and code paths a first request needs
 * are loaded and run before the snapshot, and nothing is written anywhere.
 * <p>Answers: the {@link Scenario}'s when it has one, otherwise an empty success of the operation's shape
 * (no items found, every batch entry accepted, the given secret).
 */
public final class PrimingAws implements SdkHttpClient {
    /**
     * The placeholder keys the priming clients sign with: never a real credential, never looked up. Session
     * credentials, as Lambda hands out, so signing runs the path the function's own requests take.
     */
    public static final StaticCredentialsProvider CREDENTIALS = StaticCredentialsProvider.create(
            AwsSessionCredentials.create("PRIMINGPRIMINGPRIMING", "priming-not-a-secret", "priming-not-a-token"));

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A function's answers to the calls its priming requests make; {@code null}: the default answer. An answer with
     * a {@code __type} is an error, sent as the service sends one (HTTP 400, the AWS JSON protocol's error body), so
     * the SDK's error path (unmarshalling, retry decision, the modelled exception) is primed too: see
     * {@link #conditionalCheckFailed()}.
     */
    @FunctionalInterface
    public interface Scenario {
        JsonNode answer(String operation, JsonNode request);
    }

    private final String secretString;
    private final Scenario scenario;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    /** @param secretString what GetSecretValue answers for any secret id */
    public PrimingAws(String secretString, Scenario scenario) {
        this.secretString = secretString;
        this.scenario = scenario;
    }

    /** The SDK clients, configured as {@link AwsClients} configures them, on this client. */
    public AwsClients clients(Region region) {
        return new AwsClients(region, CREDENTIALS, this);
    }

    /** Calls answered so far, by operation (e.g. {@code BatchGetItem}). */
    public Map<String, Integer> calls() {
        Map<String, Integer> copy = new TreeMap<>();
        calls.forEach((op, n) -> copy.put(op, n.get()));
        return copy;
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        String target = request.httpRequest().firstMatchingHeader("X-Amz-Target").orElse("");
        String operation = target.substring(target.indexOf('.') + 1);
        byte[] body;
        try (InputStream in = request.contentStreamProvider().orElseThrow().newStream()) {
            body = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        calls.computeIfAbsent(operation, k -> new AtomicInteger()).incrementAndGet();
        JsonNode response = answer(operation, target.startsWith("DynamoDB_"), body);
        int status = response.has("__type") ? 400 : 200;
        byte[] answer;
        try {
            answer = JSON.writeValueAsBytes(response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ExecutableHttpRequest() {
            @Override
            public HttpExecuteResponse call() {
                CRC32 crc = new CRC32();
                crc.update(answer);
                return HttpExecuteResponse.builder()
                        .response(SdkHttpResponse.builder().statusCode(status)
                                .putHeader("Content-Type", "application/x-amz-json-1.0")
                                .putHeader("Content-Length", Integer.toString(answer.length))
                                .putHeader("x-amz-crc32", Long.toString(crc.getValue()))
                                .putHeader("x-amzn-RequestId", "priming").build())
                        .responseBody(AbortableInputStream.create(new ByteArrayInputStream(answer))).build();
            }

            @Override
            public void abort() {
                // Nothing in flight: the answer is already in memory.
            }
        };
    }

    private JsonNode answer(String operation, boolean dynamoDb, byte[] body) {
        try {
            JsonNode request = JSON.readTree(body);
            JsonNode answer = scenario == null ? null : scenario.answer(operation, request);
            JsonNode response = answer != null ? answer : defaultAnswer(operation, request);
            if (dynamoDb && response instanceof ObjectNode o && !o.has("ConsumedCapacity") && !o.has("__type")) {
                consumedCapacity(operation, request, o);
            }
            return response;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode defaultAnswer(String operation, JsonNode request) {
        ObjectNode response = JSON.createObjectNode();
        switch (operation) {
            case "BatchGetItem" -> {
                ObjectNode tables = response.putObject("Responses");
                request.path("RequestItems").properties().forEach(t -> tables.putArray(t.getKey()));
                response.putObject("UnprocessedKeys");
            }
            case "BatchWriteItem" -> response.putObject("UnprocessedItems");
            case "Query" -> response.put("Count", 0).put("ScannedCount", 0).putArray("Items");
            case "SendMessageBatch" -> acceptAll(request, response);
            case "SendMessage" -> {
                response.put("MessageId", "priming").put("MD5OfMessageBody", md5(request.path("MessageBody").asText()));
                if (request.has("MessageAttributes")) {
                    response.put("MD5OfMessageAttributes", md5OfAttributes(request.path("MessageAttributes")));
                }
            }
            case "GetSecretValue" -> response.put("ARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:priming")
                    .put("Name", request.path("SecretId").asText()).put("SecretString", secretString)
                    .put("VersionId", "priming").put("CreatedDate", 1.7356896E9)
                    .putArray("VersionStages").add("AWSCURRENT");
            default -> {
                // GetItem (no item), PutItem, UpdateItem, DeleteItem, TransactWriteItems: an empty success.
            }
        }
        return response;
    }

    /** DynamoDB's answer to a write whose condition failed (the error every conditional write may meet). */
    public static ObjectNode conditionalCheckFailed() {
        return JSON.createObjectNode()
                .put("__type", "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException")
                .put("message", "The conditional request failed");
    }

    /**
     * The capacity a batch answer reports. DynamoDB reports capacity only when a request asks
     * ({@code ReturnConsumedCapacity}, which ours do not); moto, which the bench's proxy runs on, reports it on
     * every BatchGetItem and BatchWriteItem answer, so the canned batch answers do too. Otherwise the proxy's
     * first request would load its unmarshallers (about 35 classes, and the SDK's double parser): a moto
     * artifact, which on AWS no request pays and priming costs a millisecond.
     */
    private static void consumedCapacity(String operation, JsonNode request, ObjectNode response) {
        if (!operation.equals("BatchGetItem") && !operation.equals("BatchWriteItem")) {
            return;
        }
        ArrayNode all = response.putArray("ConsumedCapacity");
        request.path("RequestItems").fieldNames().forEachRemaining(t -> {
            ObjectNode c = all.addObject().put("TableName", t).put("CapacityUnits", 1.0);
            c.putObject("Table").put("CapacityUnits", 1.0);
        });
    }

    /** SendMessageBatch's answer with every entry accepted (the SQS client checks each body's MD5). */
    public static ObjectNode acceptAll(JsonNode request, ObjectNode response) {
        ArrayNode ok = response.putArray("Successful");
        for (JsonNode e : request.path("Entries")) {
            ObjectNode entry = ok.addObject().put("Id", e.path("Id").asText())
                    .put("MessageId", "priming-" + e.path("Id").asText())
                    .put("MD5OfMessageBody", md5(e.path("MessageBody").asText()));
            if (e.has("MessageAttributes")) {
                entry.put("MD5OfMessageAttributes", md5OfAttributes(e.path("MessageAttributes")));
            }
        }
        response.putArray("Failed");
        return response;
    }

    /**
     * SQS's digest of message attributes, which the SDK checks: per attribute in name order, the name, the data
     * type and the value (transport type 1 for strings, 2 for binary), each prefixed with its 4-byte length.
     */
    static String md5OfAttributes(JsonNode attributes) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            List<String> names = new ArrayList<>();
            attributes.fieldNames().forEachRemaining(names::add);
            Collections.sort(names);
            for (String name : names) {
                JsonNode a = attributes.path(name);
                lengthPrefixed(out, name.getBytes(StandardCharsets.UTF_8));
                lengthPrefixed(out, a.path("DataType").asText().getBytes(StandardCharsets.UTF_8));
                if (a.has("StringValue")) {
                    out.writeByte(1);
                    lengthPrefixed(out, a.path("StringValue").asText().getBytes(StandardCharsets.UTF_8));
                } else {
                    out.writeByte(2);
                    lengthPrefixed(out, a.path("BinaryValue").binaryValue());
                }
            }
            out.flush();
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes.toByteArray()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void lengthPrefixed(DataOutputStream out, byte[] value) throws IOException {
        out.writeInt(value.length);
        out.write(value);
    }

    private static String md5(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String clientName() {
        return "priming";
    }

    @Override
    public void close() {
        // Nothing to release.
    }
}
