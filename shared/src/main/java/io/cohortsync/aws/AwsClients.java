package io.cohortsync.aws;

import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Builds the SDK clients once per container, with region, credentials provider and HTTP client set
 * explicitly (no provider-chain probing at cold start). The endpoint is the SDK's own business: it
 * honours the standard {@code AWS_ENDPOINT_URL} variable / {@code aws.endpointUrl} property, which is
 * how local runs and tests reach an emulator; there is no emulator branch here.
 */
public final class AwsClients {
    private final Region region;
    private final AwsCredentialsProvider credentials;
    private final SdkHttpClient http;
    private final ClientOverrideConfiguration overrides;

    public AwsClients(Region region, AwsCredentialsProvider credentials) {
        this(region, credentials, newHttpClient());
    }

    /** The HTTP client every function's SDK clients share (also built, used once on loopback and closed, by priming). */
    public static SdkHttpClient newHttpClient() {
        return UrlConnectionHttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(2))
                .socketTimeout(Duration.ofSeconds(5))
                .build();
    }

    /**
     * The same clients on another HTTP client: SnapStart priming runs the real adapters through the real
     * SDK on {@link PrimingAws}, which answers from memory and never opens a connection.
     */
    public AwsClients(Region region, AwsCredentialsProvider credentials, SdkHttpClient http) {
        this.region = Objects.requireNonNull(region, "region");
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.http = Objects.requireNonNull(http, "http");
        // Each call (with the SDK's standard retries for throttling and 5xx) must end well inside the
        // webhook's timeout, so Mixpanel gets a retryable answer rather than a gateway timeout.
        this.overrides = ClientOverrideConfiguration.builder()
                .apiCallTimeout(Duration.ofSeconds(10))
                .apiCallAttemptTimeout(Duration.ofSeconds(4))
                .build();
    }

    /**
     * For a Lambda container: region and credentials from what the runtime provides. With SnapStart the
     * Java runtime hands out container credentials ({@code AWS_CONTAINER_CREDENTIALS_FULL_URI}) instead
     * of the access-key variables, so the provider follows whichever is there, without a chain probe.
     */
    public static AwsClients fromLambdaEnvironment(Map<String, String> env) {
        String region = env.get("AWS_REGION");
        if (region == null || region.isBlank()) {
            throw new IllegalStateException("AWS_REGION is not set");
        }
        String containerUri = System.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        AwsCredentialsProvider credentials = containerUri != null && !containerUri.isBlank()
                ? ContainerCredentialsProvider.builder().build()
                : EnvironmentVariableCredentialsProvider.create();
        return new AwsClients(Region.of(region), credentials);
    }

    public DynamoDbClient dynamoDb() {
        return DynamoDbClient.builder().region(region).credentialsProvider(credentials).httpClient(http)
                .overrideConfiguration(overrides).build();
    }

    public SqsClient sqs() {
        return SqsClient.builder().region(region).credentialsProvider(credentials).httpClient(http)
                .overrideConfiguration(overrides).build();
    }

    public SecretsManagerClient secretsManager() {
        return SecretsManagerClient.builder().region(region).credentialsProvider(credentials).httpClient(http)
                .overrideConfiguration(overrides).build();
    }
}
