package io.cohortsync.local;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.webhook.WebhookHandler;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The whole pipeline in one process, against whatever AWS emulator the SDK is pointed at: resources
 * created as the template defines them, the real webhook handler behind an API Gateway stand-in, the
 * real sender handler behind an SQS event-source stand-in, and Segment (a given endpoint or a sink).
 */
public final class LocalPipeline implements AutoCloseable {
    /** Everything a run can vary; see {@link LocalMain} for the environment variables behind each. */
    public record Options(String host, int port, String segmentEndpoint, String webhookUsername,
                          String webhookPassword, String segmentWriteKey, String resourcePrefix, Path identifiesFile,
                          Duration retryDelay, PrintStream console, Map<String, String> functionEnvironment) {
        /** Without extra function settings. */
        public Options(String host, int port, String segmentEndpoint, String webhookUsername, String webhookPassword,
                       String segmentWriteKey, String resourcePrefix, Path identifiesFile, Duration retryDelay,
                       PrintStream console) {
            this(host, port, segmentEndpoint, webhookUsername, webhookPassword, segmentWriteKey, resourcePrefix,
                    identifiesFile, retryDelay, console, Map.of());
        }

        public Options {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(webhookUsername, "webhookUsername");
            Objects.requireNonNull(webhookPassword, "webhookPassword");
            Objects.requireNonNull(segmentWriteKey, "segmentWriteKey");
            Objects.requireNonNull(resourcePrefix, "resourcePrefix");
            Objects.requireNonNull(console, "console");
        }
    }

    private final Map<String, String> environment;
    private final SqsClient sqs;
    private final DynamoDbClient dynamo;
    private final String queueUrl;
    private final String dlqUrl;
    private final LocalSegmentSink sink;
    private final WebhookFrontDoor frontDoor;
    private final SqsEventSourcePoller poller;

    private LocalPipeline(Options options) throws IOException {
        AwsClients clients = new AwsClients(Region.US_EAST_1, StaticCredentialsProvider.create(AwsBasicCredentials.create(
                System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "testing"),
                System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "testing"))));
        this.sqs = clients.sqs();
        this.dynamo = clients.dynamoDb();
        var secrets = clients.secretsManager();
        String prefix = options.resourcePrefix();
        String table = prefix + "-state";
        Infrastructure.createTable(dynamo, table);
        String[] queues = Infrastructure.createQueues(sqs, prefix + "-deltas");
        this.queueUrl = queues[0];
        this.dlqUrl = queues[1];
        String webhookSecret = prefix + "/webhook";
        String segmentSecret = prefix + "/segment";
        Infrastructure.putSecret(secrets, webhookSecret, json(Map.of("username", options.webhookUsername(),
                "password", options.webhookPassword())));
        Infrastructure.putSecret(secrets, segmentSecret, json(Map.of("writeKey", options.segmentWriteKey())));

        String segmentEndpoint = options.segmentEndpoint();
        this.sink = segmentEndpoint == null ? new LocalSegmentSink(options.identifiesFile(), options.console()) : null;
        if (sink != null) {
            segmentEndpoint = sink.baseUrl().toString();
        }
        Map<String, String> env = new HashMap<>();
        env.put("AWS_REGION", "us-east-1");
        env.put("TABLE_NAME", table);
        env.put("DELTA_QUEUE_URL", queueUrl);
        env.put("DLQ_URL", dlqUrl);
        env.put("WEBHOOK_SECRET_ID", webhookSecret);
        env.put("SEGMENT_SECRET_ID", segmentSecret);
        env.put("SEGMENT_ENDPOINT", segmentEndpoint);
        env.put("MAX_RECEIVE_COUNT", Integer.toString(Infrastructure.MAX_RECEIVE_COUNT));
        // moto commits far slower than DynamoDB: look again sooner at deltas whose commit is still running.
        env.put("AHEAD_RETRY_DELAY_SECONDS", "5");
        env.putAll(options.functionEnvironment()); // e.g. USER_ID_PROPERTY, DRY_RUN for a run
        this.environment = Map.copyOf(env);

        this.poller = new SqsEventSourcePoller(sqs, queueUrl, SenderHandler.forEnvironment(environment), 10,
                Duration.ofSeconds(Infrastructure.SENDER_TIMEOUT_SECONDS), options.retryDelay());
        this.frontDoor = new WebhookFrontDoor(options.host(), options.port(), WebhookHandler.forEnvironment(environment),
                Duration.ofSeconds(29));
    }

    public static LocalPipeline start(Options options) throws IOException {
        return new LocalPipeline(options);
    }

    public int port() {
        return frontDoor.port();
    }

    /** The environment the functions were configured with (table, queues, secrets, Segment endpoint). */
    public Map<String, String> environment() {
        return environment;
    }

    /** True once the delta queue is empty (visible, in flight and delayed) and no batch is being handled. */
    public boolean idle() {
        if (poller.busy()) {
            return false;
        }
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return a.values().stream().allMatch("0"::equals) && !poller.busy();
    }

    public int deadLetters() {
        return Integer.parseInt(sqs.getQueueAttributes(b -> b.queueUrl(dlqUrl)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)).attributes()
                .get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES));
    }

    public long senderInvocations() {
        return poller.invocations();
    }

    public Path identifiesFile() {
        return sink == null ? null : sink.file();
    }

    /** A ready-to-paste command that posts the sample exports in {@code events/mixpanel/}. */
    public String curlCommand(String user, String password) {
        List<String> files = List.of("members-page1.json", "members-page2.json", "add-members.json", "remove-members.json");
        return "for f in " + String.join(" ", files.stream().map(f -> "events/mixpanel/" + f).toList())
                + "; do curl -sS -u '" + user + ":" + password + "' -H 'content-type: application/json'"
                + " --data-binary @\"$f\" http://127.0.0.1:" + port() + "/mixpanel; echo; done";
    }

    private static String json(Map<String, String> values) {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        values.forEach(node::put);
        return node.toString();
    }

    @Override
    public void close() {
        frontDoor.close();
        poller.close();
        if (sink != null) {
            sink.close();
        }
    }
}
