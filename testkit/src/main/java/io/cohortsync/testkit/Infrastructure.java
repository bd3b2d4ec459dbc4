package io.cohortsync.testkit;

import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ResourceInUseException;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.model.ResourceExistsException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.util.Map;

/**
 * Creates the resources the functions need, with the definitions template.yaml gives them: one
 * on-demand table keyed {@code pk}/{@code sk} with TTL on {@code expiresAt}; a delta queue and a
 * reconcile queue, each with a redrive policy to its DLQ kept 14 days; the two secrets. Idempotent, so a local run can reuse them.
 */
public final class Infrastructure {
    public static final int MAX_RECEIVE_COUNT = 5;
    public static final int SENDER_TIMEOUT_SECONDS = 60;
    /** AWS advises at least 6x the consumer's timeout. */
    public static final int VISIBILITY_TIMEOUT_SECONDS = 6 * SENDER_TIMEOUT_SECONDS;
    /** The reconciler runs a job until 20 s before this, then queues its continuation. */
    public static final int RECONCILER_TIMEOUT_SECONDS = 120;
    public static final int RECONCILE_VISIBILITY_TIMEOUT_SECONDS = 6 * RECONCILER_TIMEOUT_SECONDS;
    private static final int DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

    private Infrastructure() {
    }

    public static void createTable(DynamoDbClient dynamo, String table) {
        try {
            dynamo.createTable(b -> b.tableName(table)
                    .billingMode(BillingMode.PAY_PER_REQUEST)
                    .attributeDefinitions(
                            AttributeDefinition.builder().attributeName("pk").attributeType(ScalarAttributeType.S).build(),
                            AttributeDefinition.builder().attributeName("sk").attributeType(ScalarAttributeType.S).build())
                    .keySchema(
                            KeySchemaElement.builder().attributeName("pk").keyType(KeyType.HASH).build(),
                            KeySchemaElement.builder().attributeName("sk").keyType(KeyType.RANGE).build()));
        } catch (ResourceInUseException exists) {
            return;
        }
        dynamo.updateTimeToLive(b -> b.tableName(table)
                .timeToLiveSpecification(t -> t.attributeName("expiresAt").enabled(true)));
    }

    /** @return [delta queue url, dlq url] */
    public static String[] createQueues(SqsClient sqs, String name) {
        return createQueues(sqs, name, VISIBILITY_TIMEOUT_SECONDS);
    }

    /** @return [reconcile queue url, reconcile dlq url]: the same shape, sized for the reconciler's timeout */
    public static String[] createReconcileQueues(SqsClient sqs, String name) {
        return createQueues(sqs, name, RECONCILE_VISIBILITY_TIMEOUT_SECONDS);
    }

    private static String[] createQueues(SqsClient sqs, String name, int visibilityTimeoutSeconds) {
        String dlqUrl = sqs.createQueue(b -> b.queueName(name + "-dlq")
                .attributes(Map.of(QueueAttributeName.MESSAGE_RETENTION_PERIOD, Integer.toString(DLQ_RETENTION_SECONDS))))
                .queueUrl();
        String dlqArn = sqs.getQueueAttributes(b -> b.queueUrl(dlqUrl).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        String queueUrl = sqs.createQueue(b -> b.queueName(name)
                .attributes(Map.of(
                        QueueAttributeName.VISIBILITY_TIMEOUT, Integer.toString(visibilityTimeoutSeconds),
                        QueueAttributeName.REDRIVE_POLICY, "{\"deadLetterTargetArn\":\"" + dlqArn
                                + "\",\"maxReceiveCount\":" + MAX_RECEIVE_COUNT + "}")))
                .queueUrl();
        return new String[]{queueUrl, dlqUrl};
    }

    /** Creates the secret, or sets its value when it exists already. */
    public static void putSecret(SecretsManagerClient secrets, String name, String value) {
        try {
            secrets.createSecret(b -> b.name(name).secretString(value));
        } catch (ResourceExistsException exists) {
            secrets.putSecretValue(b -> b.secretId(name).secretString(value));
        }
    }
}
