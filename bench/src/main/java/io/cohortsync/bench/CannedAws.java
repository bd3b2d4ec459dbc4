package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * The real AWS SDK clients on an HTTP client that answers from memory, so the CPU the functions spend
 * in the SDK (marshalling, signing, checksums, parsing) can be measured without a network, and
 * without moto's habit of closing the connection after every request (which makes each call pay a
 * TCP connect that a Lambda talking to DynamoDB over a kept-alive connection does not).
 * <p>It answers what the measured pages need: GetItem (the cohort item of a cohort already known, in
 * the sharded layout, under the name the probe's pages carry), BatchGetItem (each key found as a member
 * at version 1, or not found), PutItem, BatchWriteItem, Query (no items), SendMessageBatch (every entry
 * accepted, with its MD5) and GetSecretValue.
 */
final class CannedAws implements SdkHttpClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The name of the probe's cohorts (CpuProbe's pages): a GetItem of any cohort item answers it. */
    static final String COHORT_NAME = "CPU cohort";

    private final boolean stored;
    private final String secret;

    /**
     * @param stored whether every key BatchGetItem asks for is a current member (version 1)
     * @param secret the SecretString every secret has
     */
    CannedAws(boolean stored, String secret) {
        this.stored = stored;
        this.secret = secret;
    }

    DynamoDbClient dynamoDb() {
        return DynamoDbClient.builder().region(Region.US_EAST_1).httpClient(this).credentialsProvider(credentials())
                .overrideConfiguration(overrides()).endpointOverride(URI.create("http://127.0.0.1:9")).build();
    }

    SqsClient sqs() {
        return SqsClient.builder().region(Region.US_EAST_1).httpClient(this).credentialsProvider(credentials())
                .overrideConfiguration(overrides()).endpointOverride(URI.create("http://127.0.0.1:9")).build();
    }

    SecretsManagerClient secretsManager() {
        return SecretsManagerClient.builder().region(Region.US_EAST_1).httpClient(this).credentialsProvider(credentials())
                .overrideConfiguration(overrides()).endpointOverride(URI.create("http://127.0.0.1:9")).build();
    }

    /** As io.cohortsync.aws.AwsClients configures them (the timeouts schedule work per call). */
    private static ClientOverrideConfiguration overrides() {
        return ClientOverrideConfiguration.builder().apiCallTimeout(Duration.ofSeconds(10))
                .apiCallAttemptTimeout(Duration.ofSeconds(4)).build();
    }

    private static StaticCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"));
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        String target = request.httpRequest().firstMatchingHeader("X-Amz-Target").orElse("");
        byte[] body;
        try (InputStream in = request.contentStreamProvider().orElseThrow().newStream()) {
            body = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] answer = answer(target, body);
        return new ExecutableHttpRequest() {
            @Override
            public HttpExecuteResponse call() {
                CRC32 crc = new CRC32();
                crc.update(answer);
                return HttpExecuteResponse.builder()
                        .response(SdkHttpResponse.builder().statusCode(200)
                                .putHeader("Content-Type", "application/x-amz-json-1.0")
                                .putHeader("Content-Length", Integer.toString(answer.length))
                                .putHeader("x-amz-crc32", Long.toString(crc.getValue()))
                                .putHeader("x-amzn-RequestId", "canned").build())
                        .responseBody(AbortableInputStream.create(new ByteArrayInputStream(answer))).build();
            }

            @Override
            public void abort() {
                // Nothing in flight: the answer is already in memory.
            }
        };
    }

    private byte[] answer(String target, byte[] body) {
        try {
            JsonNode request = JSON.readTree(body);
            ObjectNode response = JSON.createObjectNode();
            switch (target.substring(target.indexOf('.') + 1)) {
                case "BatchGetItem" -> {
                    ObjectNode tables = response.putObject("Responses");
                    request.path("RequestItems").properties().forEach(t -> {
                        ArrayNode items = tables.putArray(t.getKey());
                        if (stored) {
                            for (JsonNode key : t.getValue().path("Keys")) {
                                ObjectNode item = items.addObject();
                                item.set("sk", key.path("sk"));
                                item.putObject("m").put("BOOL", true);
                                item.putObject("v").put("N", "1");
                            }
                        }
                    });
                    response.putObject("UnprocessedKeys");
                }
                case "GetItem" -> {
                    // The cohort every probe page names, as DynamoCohortStore stores it: known, not renamed,
                    // no full sync pending, so a page costs what it costs in steady state.
                    ObjectNode item = response.putObject("Item");
                    item.set("pk", request.path("Key").path("pk"));
                    item.set("sk", request.path("Key").path("sk"));
                    item.putObject("layout").put("N", "2");
                    item.putObject("name").put("S", COHORT_NAME);
                    item.putObject("nv").put("N", "1");
                    item.putObject("nh").putObject("M").putObject("1").put("S", COHORT_NAME);
                    item.putObject("epoch").put("N", "0");
                    item.putObject("reconciling").put("BOOL", false);
                    item.putObject("migrating").put("BOOL", false);
                }
                case "BatchWriteItem" -> response.putObject("UnprocessedItems");
                case "Query" -> response.put("Count", 0).put("ScannedCount", 0).putArray("Items");
                case "SendMessageBatch" -> {
                    ArrayNode ok = response.putArray("Successful");
                    for (JsonNode e : request.path("Entries")) {
                        ok.addObject().put("Id", e.path("Id").asText()).put("MessageId", "m-" + e.path("Id").asText())
                                .put("MD5OfMessageBody", md5(e.path("MessageBody").asText()));
                    }
                    response.putArray("Failed");
                }
                case "GetSecretValue" -> response.put("ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
                        .put("Name", request.path("SecretId").asText()).put("SecretString", secret).put("VersionId", "v1");
                default -> {
                    // PutItem and anything else: an empty, successful answer.
                }
            }
            return JSON.writeValueAsBytes(response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String md5(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        // Nothing to release.
    }
}
