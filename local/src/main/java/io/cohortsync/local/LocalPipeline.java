package io.cohortsync.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.AwsClients;
import io.cohortsync.reconciler.ReconcilerHandler;
import io.cohortsync.reconciler.ReconcilerStreamHandler;
import io.cohortsync.sender.SenderHandler;
import io.cohortsync.sender.SenderStreamHandler;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookStreamHandler;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The whole pipeline, against whatever AWS emulator the SDK is pointed at: resources created as the
 * template defines them, the real webhook handler behind an API Gateway stand-in, the real sender and
 * reconciler handlers each behind an SQS event-source stand-in on its own queue (the delta queue, the
 * reconcile queue), and Segment (a given endpoint or a sink). The handlers run in this process, or (with
 * {@link Options#runtimeClient()}) each function's sam-build package runs under the real Lambda runtime
 * client in execution environments of its own ({@link RuntimeClientFunction}).
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
    /**
     * Under the runtime client each function runs in JVMs of its own, where MotoIsolation (one JVM's locks)
     * cannot reach: one reconciler environment at a time, so its shard jobs never write one summary item side
     * by side on moto. Webhook environments: two (Lambda would scale further; this machine has 2 cores).
     */
    static final int RUNTIME_CLIENT_RECONCILERS = 1;
    static final int RUNTIME_CLIENT_WEBHOOKS = 2;
    /** An environment's init (JVM start, handler constructor) before the stack calls itself ready. */
    private static final Duration WARM_UP = Duration.ofSeconds(60);

    /**
     * Everything a run can vary; see {@link LocalMain} for the environment variables behind each.
     *
     * @param runtimeClient null: the handlers run in this JVM; else their sam-build packages under the real
     *                      Lambda runtime client ({@code LAMBDA_RUNTIME=ric})
     */
    public record Options(String host, int port, String segmentEndpoint, String webhookUsername,
                          String webhookPassword, String segmentWriteKey, String resourcePrefix, Path identifiesFile,
                          Duration retryDelay, PrintStream console, Map<String, String> functionEnvironment,
                          RuntimeClientPackages runtimeClient) {
        /** The handlers in this JVM. */
        public Options(String host, int port, String segmentEndpoint, String webhookUsername, String webhookPassword,
                       String segmentWriteKey, String resourcePrefix, Path identifiesFile, Duration retryDelay,
                       PrintStream console, Map<String, String> functionEnvironment) {
            this(host, port, segmentEndpoint, webhookUsername, webhookPassword, segmentWriteKey, resourcePrefix,
                    identifiesFile, retryDelay, console, functionEnvironment, null);
        }

        /** Without extra function settings. */
        public Options(String host, int port, String segmentEndpoint, String webhookUsername, String webhookPassword,
                       String segmentWriteKey, String resourcePrefix, Path identifiesFile, Duration retryDelay,
                       PrintStream console) {
            this(host, port, segmentEndpoint, webhookUsername, webhookPassword, segmentWriteKey, resourcePrefix,
                    identifiesFile, retryDelay, console, Map.of(), null);
        }

        /** The same run with the functions' packages under the runtime client. */
        public Options withRuntimeClient(RuntimeClientPackages packages) {
            return new Options(host, port, segmentEndpoint, webhookUsername, webhookPassword, segmentWriteKey,
                    resourcePrefix, identifiesFile, retryDelay, console, functionEnvironment, packages);
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
    private final Map<String, LambdaFunction> functions = new LinkedHashMap<>();

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

        RuntimeClientPackages runtimeClient = options.runtimeClient();
        try {
            if (runtimeClient == null) {
                // Every function gets the same environment, as the template gives each what it reads.
                functions.put("WebhookFunction", new InProcessFunction("cohort-sync-webhook",
                        new WebhookStreamHandler(WebhookHandler.forEnvironment(environment))));
                functions.put("SenderFunction", new InProcessFunction("cohort-sync-sender",
                        new SenderStreamHandler(SenderHandler.forEnvironment(environment))));
                functions.put("ReconcilerFunction", new InProcessFunction("cohort-sync-reconciler",
                        new ReconcilerStreamHandler(ReconcilerHandler.forEnvironment(environment))));
            } else {
                // Each package with the template's environment for it, this run's resources and settings in it.
                Map<String, String> resources = AwsStack.templateResources(table, queueUrl, dlqUrl, reconcileQueueUrl,
                        webhookSecret, segmentSecret);
                Map<String, Integer> scale = Map.of("WebhookFunction", RUNTIME_CLIENT_WEBHOOKS, "SenderFunction", 1,
                        "ReconcilerFunction", RUNTIME_CLIENT_RECONCILERS);
                for (String id : RuntimeClientPackages.FUNCTIONS) {
                    functions.put(id, runtimeClient.function(id, resources, prefix, environment, scale.get(id)));
                }
                // One environment each, initialized side by side before the stack says it is ready.
                CompletableFuture.allOf(functions.values().stream().map(f -> CompletableFuture.runAsync(
                        () -> ((RuntimeClientFunction) f).warmUp(WARM_UP))).toArray(CompletableFuture[]::new)).join();
            }
        } catch (RuntimeException e) {
            functions.values().forEach(LambdaFunction::close);
            throw e instanceof CompletionException && e.getCause() instanceof RuntimeException r
                    ? r : e;
        }
        this.poller = new SqsEventSourcePoller(pollerSqs, queueUrl, "cohort-sync-sender", functions.get("SenderFunction"),
                SENDER_BATCH_SIZE, 1, Duration.ofSeconds(Infrastructure.SENDER_TIMEOUT_SECONDS), options.retryDelay());
        this.reconciler = new SqsEventSourcePoller(pollerSqs, reconcileQueueUrl, "cohort-sync-reconciler",
                functions.get("ReconcilerFunction"), RECONCILER_BATCH_SIZE,
                runtimeClient == null ? RECONCILER_CONCURRENCY : RUNTIME_CLIENT_RECONCILERS,
                Duration.ofSeconds(Infrastructure.RECONCILER_TIMEOUT_SECONDS), options.retryDelay());
        try {
            this.frontDoor = new WebhookFrontDoor(options.host(), options.port(), functions.get("WebhookFunction"),
                    Duration.ofSeconds(29));
        } catch (IOException | RuntimeException e) { // e.g. the port is taken: stop what was started
            reconciler.close();
            poller.close();
            functions.values().forEach(LambdaFunction::close);
            throw e;
        }
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

    /** "in-process", or "runtime client" when the packages run under the real Lambda runtime client. */
    public String runtime() {
        return functions.values().iterator().next() instanceof RuntimeClientFunction ? "runtime client" : "in-process";
    }

    /**
     * Per function, the invocations its runtime-client environments answered and the environments started
     * (cold starts); empty when the handlers run in process.
     */
    public Map<String, long[]> runtimeClientStats() {
        Map<String, long[]> stats = new LinkedHashMap<>();
        functions.forEach((id, f) -> {
            if (f instanceof RuntimeClientFunction r) {
                stats.put(id, new long[]{r.invocations(), r.environmentsStarted()});
            }
        });
        return stats;
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
        var node = new ObjectMapper().createObjectNode();
        values.forEach(node::put);
        return node.toString();
    }

    @Override
    public void close() {
        frontDoor.close();
        reconciler.close();
        poller.close();
        functions.values().forEach(LambdaFunction::close);
        pollerSqs.close();
        if (sink != null) {
            sink.close();
        }
    }
}
