package io.cohortsync.testkit;

import io.cohortsync.aws.AwsClients;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fresh set of the resources one test needs, in the emulator the SDK is pointed at: its own table,
 * delta queue, reconcile queue, their DLQs and secrets (unique names, so tests never see each other's data), plus clients.
 */
public final class AwsStack {
    public static final String WEBHOOK_USERNAME = "mixpanel";
    public static final String WEBHOOK_PASSWORD = "local-secret";
    public static final String SEGMENT_WRITE_KEY = "wk-test-3f9a1c";
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    public final String name;
    public final String tableName;
    public final String queueUrl;
    public final String dlqUrl;
    public final String reconcileQueueUrl;
    public final String reconcileDlqUrl;
    public final String webhookSecretId;
    public final String segmentSecretId;
    public final DynamoDbClient dynamo;
    public final SqsClient sqs;
    public final SecretsManagerClient secrets;

    private AwsStack(String name, AwsClients clients) {
        this.name = name;
        this.dynamo = clients.dynamoDb();
        this.sqs = clients.sqs();
        this.secrets = clients.secretsManager();
        this.tableName = name + "-state";
        Infrastructure.createTable(dynamo, tableName);
        String[] queues = Infrastructure.createQueues(sqs, name + "-deltas");
        this.queueUrl = queues[0];
        this.dlqUrl = queues[1];
        String[] reconcile = Infrastructure.createReconcileQueues(sqs, name + "-reconcile");
        this.reconcileQueueUrl = reconcile[0];
        this.reconcileDlqUrl = reconcile[1];
        this.webhookSecretId = name + "/webhook";
        this.segmentSecretId = name + "/segment";
        Infrastructure.putSecret(secrets, webhookSecretId,
                "{\"username\":\"" + WEBHOOK_USERNAME + "\",\"password\":\"" + WEBHOOK_PASSWORD + "\"}");
        Infrastructure.putSecret(secrets, segmentSecretId, "{\"writeKey\":\"" + SEGMENT_WRITE_KEY + "\"}");
    }

    /** Creates a new stack; the SDK must already point at an emulator (see {@link MotoExtension}). */
    public static AwsStack create() {
        AwsClients clients = new AwsClients(Region.US_EAST_1,
                StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")));
        return new AwsStack("cs" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet(), clients);
    }

    /** The environment a function deployed on this stack would see. */
    public Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_REGION", "us-east-1");
        env.put("TABLE_NAME", tableName);
        env.put("DELTA_QUEUE_URL", queueUrl);
        env.put("DLQ_URL", dlqUrl);
        env.put("RECONCILE_QUEUE_URL", reconcileQueueUrl);
        env.put("WEBHOOK_SECRET_ID", webhookSecretId);
        env.put("SEGMENT_SECRET_ID", segmentSecretId);
        return env;
    }

    /**
     * What template.yaml's {@code !Ref}s to this stack's resources resolve to, by logical id, for {@link
     * CfnTemplate#resolvedEnvironment}: a table's name, a queue's URL, a secret's id.
     */
    public Map<String, String> templateResources() {
        return templateResources(tableName, queueUrl, dlqUrl, reconcileQueueUrl, webhookSecretId, segmentSecretId);
    }

    /** The same for resources created elsewhere (the local stack). */
    public static Map<String, String> templateResources(String table, String deltaQueueUrl, String dlqUrl,
                                                        String reconcileQueueUrl, String webhookSecretId,
                                                        String segmentSecretId) {
        return Map.of("StateTable", table, "DeltaQueue", deltaQueueUrl, "DeltaDeadLetterQueue", dlqUrl,
                "ReconcileQueue", reconcileQueueUrl, "WebhookCredentialsSecret", webhookSecretId,
                "SegmentWriteKeySecret", segmentSecretId);
    }
}
