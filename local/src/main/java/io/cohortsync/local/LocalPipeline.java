package io.cohortsync.local;

import io.cohortsync.aws.AwsClients;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.webhook.WebhookHandler;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
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
 * real sender and reconciler handlers each behind an SQS event-source stand-in on its own queue (the
 * delta queue, the reconcile queue), and Segment (a given endpoint or a sink).
 */
public final class LocalPipeline implements AutoCloseable {
    /** The sender's event source: batches of up to 10 deltas messages, one invocation at a time. */
    static final int SENDER_BATCH_SIZE = 10;
    /** The reconciler's event source: one job per invocation (a job runs until its deadline, then continues itself). */
    static final int RECONCILER_BATCH_SIZE = 1;
    /**
     * Reconciler invocations side by side, as Lambda runs a cohort's shard jobs (up to
     * ReconcilerMaxConcurrency, 16). Four here: moto, not the function, is the bottleneck. This relies on
     * testkit's MotoIsolation (an SDK global interceptor, on this classpath): without it moto loses one
     * of two concurrent UpdateItems on an item, and shards reporting into their summary at the same
     * moment stalled an exit pass at 15 of 16.
     */
    static final int RECONCILER_CONCURRENCY = 4;

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
    /** The event sources' own client: Lambda's pollers are AWS's, not bound by the functions' timeouts. */
    private final SqsClient pollerSqs;
    private final DynamoDbClient dynamo;
    private final String queueUrl;
    private final String dlqUrl;
    private final String reconcileQueueUrl;
    private final String reconcileDlqUrl;
    private final LocalSegmentSink sink;
    private final WebhookFrontDoor frontDoor;
    private final SqsEventSourcePoller poller;
    private final SqsEventSourcePoller reconciler;

    private LocalPipeline(Options options) throws IOException {
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(
                System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "testing"),
                System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "testing")));
        AwsClients clients = new AwsClients(Region.US_EAST_1, credentials);
        this.sqs = clients.sqs();
        this.pollerSqs = pollerClient(credentials);
        this.dynamo = clients.dynamoDb();
        var secrets = clients.secretsManager();
        String prefix = options.resourcePrefix();
        String table = prefix + "-state";
        Infrastructure.createTable(dynamo, table);
        String[] queues = Infrastructure.createQueues(sqs, prefix + "-deltas");
        this.queueUrl = queues[0];
        this.dlqUrl = queues[1];
        String[] reconcileQueues = Infrastructure.createReconcileQueues(sqs, prefix + "-reconcile");
        this.reconcileQueueUrl = reconcileQueues[0];
        this.reconcileDlqUrl = reconcileQueues[1];
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
        env.put("RECONCILE_QUEUE_URL", reconcileQueueUrl);
        env.put("WEBHOOK_SECRET_ID", webhookSecret);
        env.put("SEGMENT_SECRET_ID", segmentSecret);
        env.put("SEGMENT_ENDPOINT", segmentEndpoint);
        env.put("MAX_RECEIVE_COUNT", Integer.toString(Infrastructure.MAX_RECEIVE_COUNT));
        // moto commits far slower than DynamoDB: look again sooner at deltas whose commit is still running.
        env.put("AHEAD_RETRY_DELAY_SECONDS", "5");
        env.putAll(options.functionEnvironment()); // e.g. USER_ID_PROPERTY, DRY_RUN, RECONCILE_CHUNK for a run
        this.environment = Map.copyOf(env);

        // Every function gets the same environment, as the template gives each what it reads.
        this.poller = new SqsEventSourcePoller(pollerSqs, queueUrl, "cohort-sync-sender", SenderHandler.forEnvironment(environment),
                SENDER_BATCH_SIZE, 1, Duration.ofSeconds(Infrastructure.SENDER_TIMEOUT_SECONDS), options.retryDelay());
        this.reconciler = new SqsEventSourcePoller(pollerSqs, reconcileQueueUrl, "cohort-sync-reconciler",
                ReconcilerHandler.forEnvironment(environment), RECONCILER_BATCH_SIZE, RECONCILER_CONCURRENCY,
                Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS), options.retryDelay());
        this.frontDoor = new WebhookFrontDoor(options.host(), options.port(), WebhookHandler.forEnvironment(environment),
                Duration.ofSeconds(29));
    }

    /**
     * An SQS client for the pollers whose calls are never abandoned early. With the functions' client (4 s
     * per attempt) a receive that a loaded moto answers late is given up and retried while moto has
     * already handed its messages out: they stay invisible for the queue's whole visibility timeout
     * (6 or 12 minutes) and the pipeline looks busy all that time. Lambda's own pollers have no such
     * limit.
     */
    private static SqsClient pollerClient(StaticCredentialsProvider credentials) {
        return SqsClient.builder().region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(Duration.ofSeconds(5))
                        .socketTimeout(Duration.ofSeconds(60)).build())
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .apiCallAttemptTimeout(Duration.ofSeconds(60)).apiCallTimeout(Duration.ofMinutes(3)).build())
                .build();
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

    /**
     * True once both queues are empty (visible, in flight and delayed) and no batch is being handled.
     * The reconcile queue is looked at first: a reconcile job queues its deltas before it is deleted,
     * so work never slips from a queue not yet looked at into one already found empty.
     */
    public boolean idle() {
        return empty(reconcileQueueUrl, reconciler) && empty(queueUrl, poller);
    }

    private boolean empty(String url, SqsEventSourcePoller consumer) {
        if (consumer.busy()) {
            return false;
        }
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return a.values().stream().allMatch("0"::equals) && !consumer.busy();
    }

    /** What {@link #idle()} looks at, for a test's failure message: counts only. */
    public String describe() {
        return "reconcile queue " + attributes(reconcileQueueUrl) + (reconciler.busy() ? ", a job running" : "")
                + "; delta queue " + attributes(queueUrl) + (poller.busy() ? ", a batch being sent" : "");
    }

    private String attributes(String url) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return "visible " + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)
                + ", in flight " + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)
                + ", delayed " + a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED);
    }

    /** Messages in the delta queue's DLQ. */
    public int deadLetters() {
        return depth(dlqUrl);
    }

    /** Messages in the reconcile queue's DLQ. */
    public int reconcileDeadLetters() {
        return depth(reconcileDlqUrl);
    }

    private int depth(String url) {
        return Integer.parseInt(sqs.getQueueAttributes(b -> b.queueUrl(url)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)).attributes()
                .get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES));
    }

    public long senderInvocations() {
        return poller.invocations();
    }

    public long reconcilerInvocations() {
        return reconciler.invocations();
    }

    /**
     * Disables the reconciler's event source, as {@code aws lambda update-event-source-mapping
     * --no-enabled} does: jobs being run finish, queued ones wait. Lets a test hold an exit pass or a
     * rename pending while it sends the requests that race it.
     */
    public void pauseReconciler() {
        reconciler.pause();
    }

    /** Enables the reconciler's event source again. */
    public void resumeReconciler() {
        reconciler.resume();
    }

    public Path identifiesFile() {
        return sink == null ? null : sink.file();
    }

    /**
     * A ready-to-paste command that posts the sample exports in {@code events/mixpanel/}.
     *
     * @param credentials curl's {@code -u} argument as one shell word, e.g. {@link #literalCredentials} or a
     *                    reference to variables of the user's shell
     */
    public String curlCommand(String credentials) {
        List<String> files = List.of("members-page1.json", "members-page2.json", "add-members.json", "remove-members.json");
        return "for f in " + String.join(" ", files.stream().map(f -> "events/mixpanel/" + f).toList())
                + "; do curl -sS -u " + credentials + " -H 'content-type: application/json'"
                + " --data-binary @\"$f\" http://127.0.0.1:" + port() + "/mixpanel; echo; done";
    }

    /** {@code user:password} as one single-quoted shell word (for credentials that are no secret). */
    public static String literalCredentials(String user, String password) {
        return "'" + (user + ":" + password).replace("'", "'\\''") + "'";
    }

    private static String json(Map<String, String> values) {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        values.forEach(node::put);
        return node.toString();
    }

    @Override
    public void close() {
        frontDoor.close();
        reconciler.close();
        poller.close();
        pollerSqs.close();
        if (sink != null) {
            sink.close();
        }
    }
}
