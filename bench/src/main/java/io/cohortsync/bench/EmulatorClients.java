package io.cohortsync.bench;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Duration;

/**
 * SDK clients for the functions under test, built like {@code io.cohortsync.aws.AwsClients} (same
 * region, URLConnection HTTP client, explicit credentials) with one difference: long timeouts. moto
 * needs ~0.9 ms per item to evaluate and serialize a Query page, so the 1 MB pages of a large
 * cohort's exit pass take 15-20 s, where the production client gives up after a 5 s socket read and
 * a 4 s attempt. DynamoDB answers such a page in tens of milliseconds. Timeouts change no count.
 */
final class EmulatorClients implements AutoCloseable {
    private final SdkHttpClient http = UrlConnectionHttpClient.builder()
            .connectionTimeout(Duration.ofSeconds(2))
            .socketTimeout(Duration.ofMinutes(3))
            .build();
    private final ClientOverrideConfiguration overrides = ClientOverrideConfiguration.builder()
            .apiCallTimeout(Duration.ofMinutes(5))
            .apiCallAttemptTimeout(Duration.ofMinutes(3))
            .build();
    private final StaticCredentialsProvider credentials =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"));

    DynamoDbClient dynamoDb() {
        return DynamoDbClient.builder().region(Region.US_EAST_1).credentialsProvider(credentials).httpClient(http)
                .overrideConfiguration(overrides).build();
    }

    SqsClient sqs() {
        return SqsClient.builder().region(Region.US_EAST_1).credentialsProvider(credentials).httpClient(http)
                .overrideConfiguration(overrides).build();
    }

    SecretsManagerClient secretsManager() {
        return SecretsManagerClient.builder().region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(http).overrideConfiguration(overrides).build();
    }

    @Override
    public void close() {
        http.close();
    }
}
