package io.cohortsync.bench.launch;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The bare-SDK baseline of a cold start: what any Lambda function on DynamoDB and SQS pays, with none of
 * our code. Its constructor builds a DynamoDB and an SQS client (the URLConnection HTTP client, region and
 * credentials provider set explicitly, as ours are); the first invocation parses the webhook event's body
 * with Jackson, makes one GetItem and one SendMessage, and answers. It runs on the webhook package's jars,
 * with the webhook's environment (TABLE_NAME, DELTA_QUEUE_URL), through the same runtime client.
 */
public final class BareSdkHandler implements RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DynamoDbClient dynamo;
    private final SqsClient sqs;
    private final String table = System.getenv("TABLE_NAME");
    private final String queueUrl = System.getenv("DELTA_QUEUE_URL");

    public BareSdkHandler() {
        Region region = Region.of(System.getenv("AWS_REGION"));
        AwsCredentialsProvider credentials = System.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != null
                ? ContainerCredentialsProvider.builder().build() : EnvironmentVariableCredentialsProvider.create();
        SdkHttpClient http = UrlConnectionHttpClient.builder().build();
        this.dynamo = DynamoDbClient.builder().region(region).credentialsProvider(credentials).httpClient(http).build();
        this.sqs = SqsClient.builder().region(region).credentialsProvider(credentials).httpClient(http).build();
    }

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        try {
            JsonNode body = JSON.readTree(event.getBody());
            String cohort = body.path("parameters").path("mixpanel_cohort_id").asText();
            boolean known = dynamo.getItem(b -> b.tableName(table).key(Map.of("pk", AttributeValue.fromS("C#" + cohort),
                    "sk", AttributeValue.fromS("META")))).hasItem();
            String message = JSON.createObjectNode().put("cohort", cohort).put("known", known).toString();
            sqs.sendMessage(b -> b.queueUrl(queueUrl).messageBody(message));
            return APIGatewayV2HTTPResponse.builder().withStatusCode(200)
                    .withHeaders(Map.of("content-type", "application/json"))
                    .withBody("{\"known\":" + known + "}").build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
