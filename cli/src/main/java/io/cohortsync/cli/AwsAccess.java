package io.cohortsync.cli;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The SDK clients one run needs, built on first use with region, credentials and HTTP client set
 * explicitly, and closed with the run. Two ways to get one: a deployed stack (the SDK's default
 * credential and region chains, checked up front so a missing one is a one-line error, not a stack
 * trace at the first call) or {@code make local} (its emulator, dummy credentials, us-east-1).
 */
final class AwsAccess implements AutoCloseable {
    /** {@code make local} creates everything in this region (LocalPipeline). */
    static final Region LOCAL_REGION = Region.US_EAST_1;

    private final Region region;
    private final AwsCredentialsProvider credentials;
    /** Null: the SDK resolves the endpoint itself (and honours AWS_ENDPOINT_URL / aws.endpointUrl). */
    private final URI endpoint;
    private final String description;
    private final SdkHttpClient http;
    private final ClientOverrideConfiguration overrides;
    private final List<SdkAutoCloseable> open = new ArrayList<>();
    private DynamoDbClient dynamo;
    private SqsClient sqs;
    private CloudFormationClient cloudFormation;

    private AwsAccess(Region region, AwsCredentialsProvider credentials, URI endpoint, String description) {
        this.region = region;
        this.credentials = credentials;
        this.endpoint = endpoint;
        this.description = description;
        // A long poll waits 1 s (DeadLetterReader); everything else answers in well under the socket timeout.
        this.http = UrlConnectionHttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(5))
                .socketTimeout(Duration.ofSeconds(30))
                .build();
        this.overrides = ClientOverrideConfiguration.builder().apiCallTimeout(Duration.ofSeconds(60)).build();
    }

    /**
     * A deployed stack's account: the region from {@code --region} or the SDK's chain, credentials from
     * {@code credentials} (the default chain in production), both resolved now.
     */
    static AwsAccess deployed(String regionFlag, AwsCredentialsProvider credentials) throws SetupException {
        Region region;
        if (regionFlag != null) {
            region = Region.of(regionFlag);
        } else {
            try {
                region = new DefaultAwsRegionProviderChain().getRegion();
            } catch (SdkClientException e) {
                throw new SetupException("no AWS region: pass --region, or set AWS_REGION or a region in your AWS profile");
            }
        }
        try {
            credentials.resolveCredentials();
        } catch (SdkClientException e) {
            throw new SetupException("no usable AWS credentials: set AWS_PROFILE (after `aws sso login` for an SSO"
                    + " profile) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        }
        return new AwsAccess(region, credentials, null, "region " + region.id());
    }

    /** The emulator {@code make local} runs against, named by {@code AWS_ENDPOINT_URL}. */
    static AwsAccess local(Map<String, String> env) throws SetupException {
        String url = env.get("AWS_ENDPOINT_URL");
        if (url == null || url.isBlank()) {
            throw new SetupException("--local needs AWS_ENDPOINT_URL: the emulator `make local` uses (its"
                    + " \"AWS emulator:\" line), e.g. AWS_ENDPOINT_URL=http://127.0.0.1:5000");
        }
        URI endpoint;
        try {
            endpoint = URI.create(url.trim());
        } catch (IllegalArgumentException e) {
            throw new SetupException("AWS_ENDPOINT_URL is not a URL: " + url);
        }
        if (endpoint.getScheme() == null || endpoint.getHost() == null) {
            throw new SetupException("AWS_ENDPOINT_URL is not a URL: " + url);
        }
        // As `make local` does: whatever keys are set (an emulator accepts any), else dummies.
        AwsCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(
                env.getOrDefault("AWS_ACCESS_KEY_ID", "testing"), env.getOrDefault("AWS_SECRET_ACCESS_KEY", "testing")));
        return new AwsAccess(LOCAL_REGION, credentials, endpoint, "make local at " + endpoint);
    }

    /** Where the calls go, for the report: "region eu-west-1" or "make local at http://…". */
    String description() {
        return description;
    }

    boolean isLocal() {
        return endpoint != null;
    }

    synchronized DynamoDbClient dynamo() {
        if (dynamo == null) {
            dynamo = track(configure(DynamoDbClient.builder()).build());
        }
        return dynamo;
    }

    synchronized SqsClient sqs() {
        if (sqs == null) {
            sqs = track(configure(SqsClient.builder()).build());
        }
        return sqs;
    }

    synchronized CloudFormationClient cloudFormation() {
        if (cloudFormation == null) {
            cloudFormation = track(configure(CloudFormationClient.builder()).build());
        }
        return cloudFormation;
    }

    private <B extends AwsClientBuilder<B, ?> & AwsSyncClientBuilder<B, ?>> B configure(B builder) {
        builder.region(region).credentialsProvider(credentials).httpClient(http).overrideConfiguration(overrides);
        if (endpoint != null) {
            builder.endpointOverride(endpoint);
        }
        return builder;
    }

    private <C extends SdkAutoCloseable> C track(C client) {
        open.add(client);
        return client;
    }

    @Override
    public synchronized void close() {
        open.forEach(SdkAutoCloseable::close);
        open.clear();
        http.close();
    }
}
